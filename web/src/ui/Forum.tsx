// A forum (or media) channel: its posts (the active ones from the gateway, the archived ones
// from `GET /channels/{id}/threads/archived/public`), newest activity first, with their tags
// and message counts; "New post" opens a form (title, message, tags; REQUIRE_TAG checked here
// as the server does with 40067). A post is a thread: it opens in the message view.
import { useEffect, useState } from 'react';
import { ApiError } from '../api/rest';
import type { Channel, ForumTag, GuildCreate, Snowflake } from '../api/wire';
import { channelPermissions } from '../permissions';
import { useStore } from '../state/store';
import { t } from '../strings';
import { MAX_APPLIED_TAGS, appliedTags, forumPosts, mayPost, offeredTags, postTagsProblem, requiresTag } from '../threads';
import { useClient } from './context';
import { navigate } from './route';
import { ErrorText, Modal, useAction } from './admin/Modal';
import { ThreadState } from './Threads';

function tagText(x: ForumTag): string {
  return x.emoji_name ? `${x.emoji_name} ${x.name}` : x.name;
}

export function ForumView({ guild, forum }: { guild: GuildCreate; forum: Channel }) {
  const { rest, store } = useClient();
  const me = useStore(store, (s) => s.me?.id);
  const perms = me ? channelPermissions(guild, forum, me) : 0n;
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [posting, setPosting] = useState(false);
  // The archived posts are fetched once per opening; active ones come from the gateway.
  useEffect(() => {
    let live = true;
    rest.archivedThreads(forum.id).then(
      (l) => {
        if (!live) return;
        store.setThreads(guild.id, l.threads);
        setLoaded(true);
      },
      (err: unknown) => {
        if (!live) return;
        setLoaded(true);
        setError(err instanceof ApiError ? err.detail() : String(err));
      },
    );
    return () => {
      live = false;
    };
  }, [rest, store, guild.id, forum.id]);
  const posts = forumPosts(guild, forum.id);
  return (
    <main className="messages forum">
      <header>
        <h1>
          <span aria-hidden="true">💬 </span>
          {forum.name}
        </h1>
        {forum.topic && <p className="topic">{forum.topic}</p>}
        {mayPost(perms) && (
          <button type="button" aria-haspopup="dialog" onClick={() => setPosting(true)}>
            {t.threads.newPost}
          </button>
        )}
      </header>
      <ErrorText error={error} />
      <section className="posts" aria-labelledby="forum-posts">
        <h2 id="forum-posts" className="sr-only">
          {t.threads.posts}
        </h2>
        {posts.length === 0 ? (
          <p className="muted">{loaded ? t.threads.noPosts : t.threads.loadingPosts}</p>
        ) : (
          <ol aria-labelledby="forum-posts">
            {posts.map((p) => (
              <PostItem key={p.id} guildId={guild.id} forum={forum} post={p} />
            ))}
          </ol>
        )}
      </section>
      {!mayPost(perms) && <p className="muted small cannot-post">{t.threads.cannotPost}</p>}
      {posting && <NewPostDialog guildId={guild.id} forum={forum} perms={perms} onClose={() => setPosting(false)} />}
    </main>
  );
}

function PostItem({ guildId, forum, post }: { guildId: Snowflake; forum: Channel; post: Channel }) {
  const tags = appliedTags(forum, post);
  const href = `/channels/${guildId}/${post.id}`;
  return (
    <li className="post">
      <a
        href={href}
        className="post-title"
        onClick={(e) => {
          e.preventDefault();
          navigate(href);
        }}
      >
        {post.name}
      </a>
      <div className="post-meta small">
        {tags.length > 0 && (
          <ul className="tags" aria-label={t.threads.postTags(tags.map((x) => x.name))}>
            {tags.map((x) => (
              <li key={x.id} className="tag">
                {tagText(x)}
              </li>
            ))}
          </ul>
        )}
        <span className="muted">{t.threads.messages(post.message_count ?? 0)}</span>
        <ThreadState thread={post} />
      </div>
    </li>
  );
}

function NewPostDialog({ guildId, forum, perms, onClose }: { guildId: Snowflake; forum: Channel; perms: bigint; onClose: () => void }) {
  const { rest, store } = useClient();
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [chosen, setChosen] = useState<Snowflake[]>([]);
  const a = useAction();
  const offered = offeredTags(forum, perms);
  const required = requiresTag(forum);
  const submit = () => {
    const problem = postTagsProblem(forum, chosen);
    if (problem) {
      a.setError(problem === 'required' ? t.threads.tagRequired : t.threads.tooManyTags(MAX_APPLIED_TAGS));
      return;
    }
    void a.run(async () => {
      const post = await rest.startThread(forum.id, {
        name: title.trim(),
        message: { content: text },
        ...(chosen.length > 0 ? { applied_tags: chosen } : {}),
      });
      // The answer carries the starter message; the store keeps the thread alone.
      const thread = { ...post };
      delete thread.message;
      store.setThreads(guildId, [thread]);
      onClose();
      navigate(`/channels/${guildId}/${post.id}`);
    });
  };
  return (
    <Modal title={t.threads.newPost} onClose={onClose}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label>
          {t.threads.postTitle}
          <input value={title} maxLength={100} required autoFocus onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label>
          {t.threads.postMessage}
          <textarea value={text} rows={4} maxLength={2000} required onChange={(e) => setText(e.target.value)} />
        </label>
        {offered.length > 0 && (
          <fieldset className="templates tag-choice">
            <legend>{required ? t.threads.tagsRequired : t.threads.tags}</legend>
            {offered.map(({ tag, allowed }) => (
              <label key={tag.id} className="choice">
                <input
                  type="checkbox"
                  disabled={!allowed}
                  checked={chosen.includes(tag.id)}
                  onChange={(e) => setChosen((c) => (e.target.checked ? [...c, tag.id] : c.filter((x) => x !== tag.id)))}
                />{' '}
                {tag.moderated ? t.threads.moderatedTag(tagText(tag)) : tagText(tag)}
              </label>
            ))}
          </fieldset>
        )}
        <ErrorText error={a.error} />
        <div className="row">
          <button type="submit" disabled={a.busy || !title.trim() || !text.trim()}>
            {a.busy ? t.threads.posting : t.threads.post}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
