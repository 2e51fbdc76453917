// A vertical tab list (WAI-ARIA tabs pattern): the settings dialogs' section navigation.
import { useRef, type KeyboardEvent } from 'react';

/** The tabs of `tabs`, `current` selected; arrow keys move the selection and the focus
 *  (wrapping around). Tab `id` is `{idPrefix}tab-{id}` and controls `{idPrefix}panel-{id}`. */
export function VerticalTabs<T extends string>({
  label,
  idPrefix,
  tabs,
  current,
  onChoose,
}: {
  label: string;
  idPrefix: string;
  tabs: { id: T; label: string }[];
  current: T;
  onChoose: (id: T) => void;
}) {
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent, i: number) => {
    const d = e.key === 'ArrowDown' || e.key === 'ArrowRight' ? 1 : e.key === 'ArrowUp' || e.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    e.preventDefault();
    const j = (i + d + tabs.length) % tabs.length;
    const next = tabs[j];
    if (next) onChoose(next.id);
    buttons.current[j]?.focus();
  };
  return (
    <div role="tablist" aria-label={label} aria-orientation="vertical" className="settings-tabs">
      {tabs.map(({ id, label: text }, i) => (
        <button
          key={id}
          ref={(el) => {
            buttons.current[i] = el;
          }}
          type="button"
          role="tab"
          id={`${idPrefix}tab-${id}`}
          aria-selected={id === current}
          aria-controls={`${idPrefix}panel-${id}`}
          tabIndex={id === current ? 0 : -1}
          className={id === current ? 'tab active' : 'tab'}
          onClick={() => onChoose(id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {text}
        </button>
      ))}
    </div>
  );
}
