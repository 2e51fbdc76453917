// Bots' message components and modals (Discord "Components"): action rows of buttons and
// selects under a bot's message, a click or a choice sent as `POST /interactions` type 3,
// and the modal an application opens (INTERACTION_MODAL_CREATE) submitted as type 5.
//
// Progress: the server answers 204 once the interaction reached the application, then tells
// this user's sessions INTERACTION_SUCCESS when the application answered or
// INTERACTION_FAILURE when it did not within 3 seconds; the control shows "Sending…"
// meanwhile and "This interaction failed" on a failure, a refusal (HTTP error) or when
// neither event came within INTERACTION_TIMEOUT_MS. Link buttons (style 5) ask before
// leaving, as Discord does, then open the URL in a new tab with rel="noopener noreferrer".
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { ApiError } from '../api/rest';
import type { Component, GuildCreate, InteractionRequest, Message } from '../api/wire';
import {
  actionRows,
  BUTTON_STYLES,
  C,
  componentBody,
  entities,
  entityKinds,
  INTERACTION_TIMEOUT_MS,
  interactionNonce,
  isSelect,
  modalBody,
  safeUrl,
  selectLimits,
  selectValid,
  textInputError,
  textInputs,
  type Place,
} from '../bots';
import { useStore, type Interaction, type Store } from '../state/store';
import { t } from '../strings';
import type { Rest } from '../api/rest';
import { useClient } from './context';
import { Modal } from './admin/Modal';

/** Sends an interaction and tracks it by nonce (`timeoutMs` 0: autocomplete, untracked).
 *  Without a gateway session (none yet, or it was lost) nothing is sent and the interaction
 *  is noted as failed with the reason, which its control shows. */
export function sendInteraction(
  rest: Rest,
  store: Store,
  guildId: string,
  body: (nonce: string, sessionId: string) => InteractionRequest,
  timeoutMs = INTERACTION_TIMEOUT_MS,
): string {
  const sessionId = store.state.sessionId;
  const nonce = interactionNonce();
  store.startInteraction(nonce, guildId, timeoutMs);
  if (!sessionId) {
    store.settleInteraction(nonce, 'failed', t.bots.notConnected);
    return nonce;
  }
  rest.interact(body(nonce, sessionId)).catch((err: unknown) => {
    store.settleInteraction(nonce, 'failed', err instanceof ApiError ? err.detail() : undefined);
  });
  return nonce;
}

/** The status line of an interaction this session sent (nothing once it succeeded). */
export function InteractionStatus({ nonce, label }: { nonce: string | null; label?: string }) {
  const { store } = useClient();
  const live = useStore(store, (s) => (nonce ? s.interactions[nonce] : undefined));
  // The store drops a settled entry after a while: the outcome seen last stays on screen.
  const [seen, setSeen] = useState<{ nonce: string | null; i: Interaction | undefined }>({ nonce, i: live });
  if (live && (seen.nonce !== nonce || seen.i !== live)) setSeen({ nonce, i: live });
  const i = live ?? (seen.nonce === nonce ? seen.i : undefined);
  if (!i || i.status === 'done') return null;
  if (i.status === 'pending')
    return (
      <p role="status" className="muted small interaction-status">
        {label ?? t.bots.sending}
      </p>
    );
  return (
    <p role="alert" className="error small interaction-status">
      {t.bots.failed}
      {i.error ? ` (${i.error})` : ''}
    </p>
  );
}

function Emoji({ c }: { c: Component }) {
  return c.emoji?.name ? <span aria-hidden={c.label ? true : undefined}>{c.emoji.name} </span> : null;
}

/** "Used /name" over a command's response. */
export function InteractionContext({ m }: { m: Message }) {
  const meta = m.interaction_metadata;
  if (!meta?.name) return null;
  return <div className="reply-context muted small">↱ {t.bots.used(meta.user.global_name ?? meta.user.username, meta.name, (meta.command_type ?? 1) === 1)}</div>;
}

/** A bot's action rows under its message (nothing for other messages). */
export function MessageComponents({ m, guildId }: { m: Message; guildId: string | null }) {
  const { rest, store } = useClient();
  const guild = useStore(store, (s) => s.guilds.find((g) => g.id === guildId) ?? null);
  const [nonce, setNonce] = useState<string | null>(null);
  const status = useStore(store, (s) => (nonce ? s.interactions[nonce]?.status : undefined));
  const [leaving, setLeaving] = useState<string | null>(null);
  const rows = actionRows(m.components);
  if (rows.length === 0) return null;
  const busy = status === 'pending';
  const appId = m.application_id ?? m.author.id;
  const send = (c: Component, values?: string[]) => {
    if (!guild) return;
    const place = (nonce: string, sessionId: string): Place => ({ applicationId: appId, guildId: guild.id, channelId: m.channel_id, sessionId, nonce });
    setNonce(sendInteraction(rest, store, guild.id, (n, sid) => componentBody(place(n, sid), m.id, m.flags ?? 0, c, values)));
  };
  return (
    <div className="components" aria-busy={busy}>
      {rows.map((row, i) => (
        <div key={i} className="component-row" role="group" aria-label={t.bots.components}>
          {row.map((c, j) =>
            c.type === C.BUTTON ? (
              <button
                key={c.custom_id ?? c.url ?? j}
                type="button"
                className={`component-button ${BUTTON_STYLES[c.style ?? 1] ?? 'primary'}`}
                disabled={c.disabled === true || busy || !guild || (c.style === 5 && !safeUrl(c.url))}
                aria-haspopup={c.style === 5 ? 'dialog' : undefined}
                onClick={() => (c.style === 5 ? setLeaving(safeUrl(c.url)) : send(c))}
              >
                <Emoji c={c} />
                {c.label}
                {c.style === 5 && <span aria-hidden="true"> ↗</span>}
              </button>
            ) : isSelect(c.type) ? (
              <Select key={c.custom_id ?? j} c={c} guild={guild} disabled={busy || !guild} onChoose={(v) => send(c, v)} />
            ) : null,
          )}
        </div>
      ))}
      <InteractionStatus nonce={nonce} />
      {leaving && (
        <Modal title={t.bots.leaving} onClose={() => setLeaving(null)}>
          <p>{t.bots.leavingText(leaving)}</p>
          <div className="row">
            <button type="button" className="secondary" onClick={() => setLeaving(null)}>
              {t.cancel}
            </button>
            <a className="button" href={leaving} target="_blank" rel="noopener noreferrer" onClick={() => setLeaving(null)}>
              {t.bots.openLink}
            </a>
          </div>
        </Modal>
      )}
    </div>
  );
}

/** A select: a native `<select>` (one value: sent when chosen; several: sent with "Choose"),
 *  offering the string select's options or the guild's users, roles or channels. */
function Select({ c, guild, disabled, onChoose }: { c: Component; guild: GuildCreate | null; disabled: boolean; onChoose: (values: string[]) => void }) {
  const id = useId();
  const { min, max } = selectLimits(c);
  const multiple = max > 1;
  const [chosen, setChosen] = useState<string[]>(() => (c.options ?? []).filter((o) => o.default).map((o) => o.value));
  const choices = useMemo(() => {
    if (c.type === C.STRING_SELECT) return (c.options ?? []).map((o) => ({ value: o.value, label: `${o.emoji?.name ? `${o.emoji.name} ` : ''}${o.label}`, group: '' }));
    if (!guild) return [];
    return entities(guild, entityKinds(c.type), c.channel_types).map((e) => ({ value: e.id, label: e.label, group: e.kind }));
  }, [c, guild]);
  const label = c.placeholder ?? t.bots.pick;
  if (!multiple)
    return (
      <select
        aria-label={label}
        className="component-select"
        disabled={disabled || c.disabled === true}
        value={chosen[0] ?? ''}
        onChange={(e) => {
          const v = e.target.value;
          setChosen(v ? [v] : []);
          if (v || min === 0) onChoose(v ? [v] : []);
        }}
      >
        <option value="" disabled={min > 0}>
          {label}
        </option>
        {choices.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  return (
    <span className="component-multi">
      <label htmlFor={id} className="muted small">
        {label}
      </label>
      <select
        id={id}
        multiple
        className="component-select"
        disabled={disabled || c.disabled === true}
        value={chosen}
        onChange={(e) => setChosen([...e.target.selectedOptions].map((o) => o.value))}
      >
        {choices.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <button type="button" className="small" disabled={disabled || c.disabled === true || !selectValid(c, chosen)} onClick={() => onChoose(chosen)}>
        {t.bots.choose}
      </button>
    </span>
  );
}

/** The modal an application opened for this session (INTERACTION_MODAL_CREATE). */
export function InteractionModal() {
  const { store } = useClient();
  const modal = useStore(store, (s) => s.modal);
  if (!modal) return null;
  return <ModalForm key={modal.id} modal={modal} />;
}

function ModalForm({ modal }: { modal: NonNullable<Store['state']['modal']> }) {
  const { rest, store } = useClient();
  const inputs = textInputs(modal);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(inputs.map((c) => [c.custom_id ?? '', c.value ?? ''])));
  const [nonce, setNonce] = useState<string | null>(null);
  const [checked, setChecked] = useState(false);
  const status = useStore(store, (s) => (nonce ? s.interactions[nonce]?.status : undefined));
  const close = () => store.closeModal();
  // The application answered the submission: the modal closes (as Discord's does).
  useEffect(() => {
    if (status === 'done') store.closeModal();
  }, [status, store]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setChecked(true);
    if (inputs.some((c) => textInputError(c, values[c.custom_id ?? ''] ?? ''))) return;
    setNonce(
      sendInteraction(rest, store, modal.guildId, (n, sid) =>
        modalBody({ applicationId: modal.application.id, guildId: modal.guildId, channelId: modal.channel_id, sessionId: sid, nonce: n }, modal, values),
      ),
    );
  };
  return (
    <Modal title={modal.title} onClose={close}>
      <form onSubmit={submit} noValidate>
        <p className="muted small">{modal.application.name}</p>
        {inputs.map((c) => {
          const key = c.custom_id ?? '';
          const err = checked ? textInputError(c, values[key] ?? '') : null;
          const errId = `modal-err-${key}`;
          const common = {
            value: values[key] ?? '',
            required: c.required ?? true,
            placeholder: c.placeholder,
            maxLength: c.max_length,
            minLength: c.min_length,
            'aria-invalid': err ? true : undefined,
            'aria-describedby': err ? errId : undefined,
            onChange: (e: { target: { value: string } }) => setValues((v) => ({ ...v, [key]: e.target.value })),
          };
          return (
            <label key={key}>
              {c.label}
              {(c.required ?? true) && <span aria-hidden="true"> *</span>}
              {c.style === 2 ? <textarea rows={4} {...common} /> : <input {...common} />}
              {err && (
                <span id={errId} className="error small">
                  {t.bots.fieldError(err.replace('max:', 'maxLength:').replace('min:', 'minLength:'))}
                </span>
              )}
            </label>
          );
        })}
        <InteractionStatus nonce={nonce} />
        <div className="row">
          <button type="button" className="secondary" onClick={close}>
            {t.cancel}
          </button>
          <button type="submit" disabled={status === 'pending'}>
            {t.bots.submit}
          </button>
        </div>
      </form>
    </Modal>
  );
}
