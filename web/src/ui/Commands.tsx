// Application commands in the composer: typing `/` at the start lists the commands the user
// may use in the channel (`GET /channels/{id}/application-command-index`: the server applies
// the commands' permissions), as a listbox the text box
// controls (Up/Down, Enter or Tab to choose, Esc to dismiss); a chosen command opens a form
// with its options (required ones marked; choices as a list; users, channels and roles from
// the client's state; autocomplete options ask the application, type 4, and list its
// choices) and runs as `POST /interactions` type 2. The application's answer is a message
// in the channel like any other.
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import type { Channel, CommandOption, GuildCreate } from '../api/wire';
import {
  autocompleteBody,
  buildOptions,
  choiceText,
  commandBody,
  commandEntries,
  entities,
  entityKinds,
  entryName,
  O,
  type CommandEntry,
  type OptionErrors,
  type Place,
} from '../bots';
import { useStore } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { sendInteraction } from './Components';

/** The channel's command entries, fetched each time `active` turns true (null until known). */
export function useCommandIndex(channelId: string | null, active: boolean): CommandEntry[] | null {
  const { rest } = useClient();
  const [entries, setEntries] = useState<CommandEntry[] | null>(null);
  useEffect(() => {
    if (!channelId || !active) return;
    let live = true;
    rest.commandIndex(channelId).then(
      (index) => live && setEntries(commandEntries(index)),
      () => live && setEntries([]),
    );
    return () => {
      live = false;
    };
  }, [rest, channelId, active]);
  return entries;
}

export const optionId = (listId: string, i: number) => `${listId}-${i}`;

/** The matching commands under the composer's text box (a listbox it controls). */
export function CommandSuggestions({ id, matches, selected, onChoose }: { id: string; matches: CommandEntry[]; selected: number; onChoose: (e: CommandEntry) => void }) {
  return (
    <ul id={id} role="listbox" aria-label={t.bots.commands} className="command-list">
      {matches.length === 0 && (
        <li role="option" aria-selected={false} aria-disabled="true" className="muted">
          {t.bots.noCommands}
        </li>
      )}
      {matches.map((e, i) => (
        <li
          key={entryName(e) + e.command.id}
          id={optionId(id, i)}
          role="option"
          aria-selected={i === selected}
          className={i === selected ? 'selected' : undefined}
          onMouseDown={(ev) => ev.preventDefault()}
          onClick={() => onChoose(e)}
        >
          <strong>/{entryName(e)}</strong> <span className="muted small">{e.description}</span>{' '}
          <span className="muted small">{t.bots.by(e.application)}</span>
        </li>
      ))}
    </ul>
  );
}

/** The form of a chosen command; `onRun` gets the interaction's nonce once sent. */
export function CommandForm({ entry, guild, channel, onRun, onCancel }: { entry: CommandEntry; guild: GuildCreate; channel: Channel; onRun: (nonce: string | null) => void; onCancel: () => void }) {
  const { rest, store } = useClient();
  const [values, setValues] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<OptionErrors>({});
  const [focusedNonce, setFocusedNonce] = useState<{ nonce: string; option: string } | null>(null);
  const choices = useStore(store, (s) => (focusedNonce && s.autocomplete?.nonce === focusedNonce.nonce ? s.autocomplete.choices : null));
  const place = (nonce: string, sessionId: string): Place => ({ applicationId: entry.command.application_id, guildId: guild.id, channelId: channel.id, sessionId, nonce });
  // Autocomplete: the application is asked 300 ms after the last keystroke.
  const [asking, setAsking] = useState<string | null>(null);
  useEffect(() => {
    if (!asking) return;
    const timer = setTimeout(() => {
      const nonce = sendInteraction(rest, store, guild.id, (n, sid) => autocompleteBody(place(n, sid), entry, values, asking), 0);
      if (nonce) setFocusedNonce({ nonce, option: asking });
    }, 300);
    return () => clearTimeout(timer);
    // `place` and `entry` are fixed for this form; `values` is what changed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [asking, values]);
  const set = (o: CommandOption, v: string) => {
    setValues((cur) => ({ ...cur, [o.name]: v }));
    setAsking(o.autocomplete ? o.name : null);
  };
  const run = (e: FormEvent) => {
    e.preventDefault();
    const r = buildOptions(entry, values);
    if ('errors' in r) {
      setErrors(r.errors);
      return;
    }
    onRun(sendInteraction(rest, store, guild.id, (n, sid) => commandBody(place(n, sid), entry, r.options)));
  };
  const unsupported = entry.options.some((o) => o.type === O.ATTACHMENT && o.required);
  return (
    <form className="composer command-form" aria-label={t.bots.runLabel(entryName(entry))} onSubmit={run} noValidate onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <fieldset>
        <legend>
          <strong>/{entryName(entry)}</strong> <span className="muted small">{entry.description}</span>{' '}
          <span className="muted small">{t.bots.by(entry.application)}</span>
        </legend>
        {entry.options.map((o, i) => (
          <OptionField
            key={o.name}
            o={o}
            guild={guild}
            autoFocus={i === 0}
            value={values[o.name] ?? ''}
            error={errors[o.name]}
            onChange={(v) => set(o, v)}
            choices={focusedNonce?.option === o.name ? choices : null}
          />
        ))}
      </fieldset>
      <div className="row">
        <button type="button" className="secondary" onClick={onCancel}>
          {t.cancel}
        </button>
        <button type="submit" autoFocus={entry.options.length === 0} disabled={unsupported}>
          {t.bots.run}
        </button>
      </div>
    </form>
  );
}

function OptionField({
  o,
  guild,
  value,
  error,
  onChange,
  choices,
  autoFocus,
}: {
  o: CommandOption;
  guild: GuildCreate;
  value: string;
  error: string | undefined;
  onChange: (v: string) => void;
  choices: { name: string; value: string | number }[] | null;
  autoFocus: boolean;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const entityList = useMemo(() => {
    const kinds = entityKinds(null, o.type);
    return kinds.length ? entities(guild, kinds, o.channel_types) : null;
  }, [guild, o]);
  const common = {
    id,
    autoFocus,
    required: o.required === true,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? errId : undefined,
  };
  let field;
  if (o.type === O.ATTACHMENT) field = <p className="muted small">{t.bots.notSupported}</p>;
  else if (o.choices?.length || o.type === O.BOOLEAN || entityList) {
    const list = o.type === O.BOOLEAN ? [{ value: 'true', label: t.bots.yes }, { value: 'false', label: t.bots.no }] : entityList ? entityList.map((e) => ({ value: e.id, label: e.label })) : (o.choices ?? []).map((c) => ({ value: choiceText(c), label: c.name }));
    field = (
      <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t.bots.none}</option>
        {list.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    );
  } else
    field = (
      <input
        {...common}
        inputMode={o.type === O.INTEGER ? 'numeric' : o.type === O.NUMBER ? 'decimal' : undefined}
        maxLength={o.max_length}
        autoComplete="off"
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  return (
    <div className="command-option">
      <label htmlFor={id}>
        {o.name}
        {o.required && (
          <>
            <span aria-hidden="true"> *</span>
            <span className="sr-only"> ({t.bots.required})</span>
          </>
        )}{' '}
        <span className="muted small">{o.description}</span>
      </label>
      {field}
      {choices && choices.length > 0 && (
        <ul className="suggestions" aria-label={t.bots.suggestions}>
          {choices.map((c) => (
            <li key={choiceText(c)}>
              <button type="button" className="small secondary" onClick={() => onChange(choiceText(c))}>
                {c.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <span id={errId} className="error small">
          {t.bots.fieldError(error)}
        </span>
      )}
    </div>
  );
}
