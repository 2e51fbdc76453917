// A modal dialog for the administration screens: focus moves into it when it opens (the
// first field, or what has `autoFocus`), Tab stays inside it, Esc closes it, and focus goes
// back to what opened it (or to `returnTo` when the opener is gone, e.g. a closed popout).
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../../api/rest';
import { t } from '../../strings';

/** Open modals, innermost last: Esc closes only the innermost. */
const stack: symbol[] = [];

const FOCUSABLE = 'input:not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

export function Modal({
  title,
  onClose,
  children,
  className,
  returnTo,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  returnTo?: HTMLElement | null;
}) {
  const box = useRef<HTMLDivElement>(null);
  const id = useId();
  const back = useRef(returnTo);
  // What had the focus when the modal was first rendered: noted during render, before a
  // field with `autoFocus` takes the focus at mount (an effect would run after it).
  const [opener] = useState(() => {
    const active = document.activeElement;
    return active instanceof HTMLElement && active !== document.body ? active : null;
  });
  const close = useRef(onClose);
  useEffect(() => {
    close.current = onClose;
  });
  // Esc anywhere (the focus may have fallen to the page when a focused button went away)
  // closes the innermost modal.
  useEffect(() => {
    const me = Symbol('modal');
    stack.push(me);
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || stack[stack.length - 1] !== me || e.defaultPrevented) return;
      e.preventDefault();
      close.current();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      stack.splice(stack.indexOf(me), 1);
    };
  }, []);
  useEffect(() => {
    // The opener may be gone already (a popout closed by the same click): then `returnTo`.
    const el = box.current;
    const fallback = back.current;
    if (el && !el.contains(document.activeElement)) (el.querySelector<HTMLElement>(FOCUSABLE) ?? el).focus();
    return () => {
      const target = opener?.isConnected && !el?.contains(opener) ? opener : fallback;
      if (target?.isConnected) target.focus();
    };
  }, [opener]);
  // Tab and Shift+Tab stay inside.
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key !== 'Tab' || !box.current) return;
    e.stopPropagation();
    const all = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.offsetParent !== null);
    const first = all[0];
    const last = all[all.length - 1];
    if (!first || !last) return;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  return (
    <div className="backdrop" onKeyDown={onKeyDown}>
      <div ref={box} role="dialog" aria-modal="true" aria-labelledby={id} tabIndex={-1} className={`card dialog ${className ?? ''}`}>
        <h2 id={id}>{title}</h2>
        {children}
      </div>
    </div>
  );
}

/** Runs server calls one at a time, keeping the server's refusal text (`ApiError.detail`). */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (f: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await f();
      return true;
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/** The server's refusal, announced to screen readers. */
export function ErrorText({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}

/** A question before a destructive action; `run` does it (the dialog closes when it succeeds,
 *  and stays with the server's refusal when it fails). */
export function Confirm({
  title,
  text,
  action,
  run,
  onClose,
  children,
  returnTo,
}: {
  title: string;
  text: string;
  action: string;
  run: () => Promise<unknown>;
  onClose: () => void;
  children?: ReactNode;
  returnTo?: HTMLElement | null;
}) {
  const a = useAction();
  return (
    <Modal title={title} onClose={onClose} returnTo={returnTo ?? null}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(run).then((ok) => ok && onClose());
        }}
      >
        <p>{text}</p>
        {children}
        <ErrorText error={a.error} />
        <div className="row">
          <button type="button" className="secondary" onClick={onClose}>
            {t.cancel}
          </button>
          <button type="submit" className="danger" disabled={a.busy}>
            {action}
          </button>
        </div>
      </form>
    </Modal>
  );
}
