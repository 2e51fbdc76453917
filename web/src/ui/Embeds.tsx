// A message's embeds (src/embeds.ts reads them safely): the colour bar, author, title with its
// link, the description and field values through the message's markdown renderer (sanitized),
// inline fields side by side, image and thumbnail, footer and timestamp. Every other text is
// React text (never HTML); links are http(s) only and open in a new tab with
// `rel="noopener noreferrer"`. Images load only from this page's origin (the CSP's `img-src`);
// others show as links (the server has no media proxy for embeds).
import { format } from 'date-fns';
import { useMemo, type ReactNode } from 'react';
import { embedViews, fieldColumns, type EmbedMedia, type EmbedView } from '../embeds';
import { t } from '../strings';

function Link({ href, children, className }: { href: string | null; children: ReactNode; className?: string }) {
  if (!href) return <span className={className}>{children}</span>;
  return (
    <a className={className} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  );
}

/** An image that may load (this origin) inline, any other as a link naming its URL. */
function Picture({ m, className, label }: { m: EmbedMedia; className: string; label: (url: string) => string }) {
  if (!m.inline) {
    return (
      <p className={`${className} embed-media-link small`}>
        <a href={m.url} target="_blank" rel="noopener noreferrer">
          {label(m.url)}
        </a>
      </p>
    );
  }
  return (
    <a className={className} href={m.url} target="_blank" rel="noopener noreferrer" title={label(m.url)}>
      <img src={m.url} alt={label(m.url)} width={m.width} height={m.height} loading="lazy" />
    </a>
  );
}

function Embed({ e, render }: { e: EmbedView; render: (md: string) => string }) {
  const columns = fieldColumns(e.fields);
  const name = e.title ?? e.author?.name ?? e.provider?.name ?? t.embed;
  return (
    <article className={`embed embed-${e.type}`} aria-label={t.embedLabel(name)} style={e.colour ? { borderLeftColor: e.colour } : undefined}>
      <div className="embed-main">
        {e.provider && (
          <p className="embed-provider small">
            <Link href={e.provider.url}>{e.provider.name}</Link>
          </p>
        )}
        {e.author && (
          <p className="embed-author">
            {e.author.icon && <img className="embed-icon" src={e.author.icon.url} alt="" width={24} height={24} />}
            <Link href={e.author.url}>{e.author.name}</Link>
          </p>
        )}
        {e.title && (
          <p className="embed-title">
            <Link href={e.url}>{e.title}</Link>
          </p>
        )}
        {e.description && <div className="embed-description markdown" dangerouslySetInnerHTML={{ __html: render(e.description) }} />}
        {e.fields.length > 0 && (
          <dl className="embed-fields">
            {e.fields.map((f, i) => {
              const [start, span] = columns[i] ?? [1, 12];
              return (
                <div key={i} className="embed-field" style={{ gridColumn: `${start} / span ${span}` }}>
                  <dt>{f.name}</dt>
                  <dd className="markdown" dangerouslySetInnerHTML={{ __html: render(f.value) }} />
                </div>
              );
            })}
          </dl>
        )}
        {e.video && (
          <p className="embed-media-link small">
            <a href={e.video.url} target="_blank" rel="noopener noreferrer">
              {t.embedVideo(e.video.url)}
            </a>
          </p>
        )}
        {e.image && <Picture m={e.image} className="embed-image" label={t.embedImage} />}
        {(e.footer || e.timestamp) && (
          <p className="embed-footer small">
            {e.footer?.icon && <img className="embed-icon" src={e.footer.icon.url} alt="" width={20} height={20} />}
            {e.footer && <span>{e.footer.text}</span>}
            {e.footer && e.timestamp && <span aria-hidden="true"> • </span>}
            {e.timestamp && <time dateTime={e.timestamp}>{format(Date.parse(e.timestamp), 'PPPp')}</time>}
          </p>
        )}
      </div>
      {e.thumbnail && <Picture m={e.thumbnail} className="embed-thumbnail" label={t.embedImage} />}
    </article>
  );
}

/** The embeds of one message (nothing when none would show); `origin`: the page's. */
export function Embeds({ list, render, origin = location.origin }: { list: unknown; render: (md: string) => string; origin?: string }) {
  const views = useMemo(() => embedViews(list, origin), [list, origin]);
  if (views.length === 0) return null;
  return (
    <div className="embeds">
      {views.map((e, i) => (
        <Embed key={i} e={e} render={render} />
      ))}
    </div>
  );
}
