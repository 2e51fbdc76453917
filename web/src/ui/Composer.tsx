// The message composer: text with drafts kept per channel, files, replies, emoji, and `/`
// for the application commands of the guild (./Commands.tsx).
import { useId, useRef, useState, type ClipboardEvent, type KeyboardEvent } from 'react';
import { entryName, matchCommands, type CommandEntry } from '../bots';
import { useStore } from '../state/store';
import { CommandForm, CommandSuggestions, optionId, useCommandIndex } from './Commands';
import { InteractionStatus } from './Components';
import { ApiError } from '../api/rest';
import type { Channel, Message } from '../api/wire';
import { filesOf, formatSize } from '../files';
import { t } from '../strings';
import { useClient } from './context';
import { composerText, insertAt } from '../emoji';
import { EmojiPicker } from './EmojiPicker';

/** A file chosen for the next message, with its thumbnail (an object URL) when it is an image. */
export interface DraftFile {
  key: number;
  file: File;
  preview: string | null;
}

/** The files chosen for the next message of a channel (Messages.tsx `useDraftFiles`). */
export interface DraftFiles {
  list: DraftFile[];
  add(files: File[]): void;
  remove(key: number): void;
  clear(sent: DraftFile[]): void;
}

export function displayName(m: Message): string {
  return m.member?.nick ?? m.author.global_name ?? m.author.username;
}

function newNonce(): string {
  // Discord's nonce: up to 25 characters; a random integer string here.
  return String(Math.floor(Math.random() * 2 ** 52));
}

/** Drafts are kept per channel across reloads (localStorage holds drafts, never tokens). */
const draftKey = (channel: string) => `hearth.draft.${channel}`;

export function refusal(err: unknown): string | undefined {
  return err instanceof ApiError && err.status > 0 ? err.detail() : undefined;
}

interface ComposerProps {
  channel: Channel;
  placeholder: string;
  replyTo: Message | null;
  clearReply: () => void;
  files: DraftFiles;
  mayAttach: boolean;
  guildId: string | null;
  /** Up in the empty composer: edit the last own message; false when there is none. */
  onEditLast: () => boolean;
}

export function Composer({ channel, placeholder, replyTo, clearReply, files, mayAttach, guildId, onEditLast }: ComposerProps) {
  const { rest, store } = useClient();
  const [text, setTextState] = useState(() => localStorage.getItem(draftKey(channel.id)) ?? '');
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const chooser = useRef<HTMLInputElement>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const [picking, setPicking] = useState(false);
  // `/` at the start: the guild's commands; a chosen one opens its form (./Commands.tsx).
  const guild = useStore(store, (s) => s.guilds.find((g) => g.id === guildId) ?? null);
  const slash = !!guild && text.startsWith('/') && !text.includes('\n');
  const entries = useCommandIndex(channel.id, slash);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const matches = slash && entries && dismissed !== text ? matchCommands(entries, text) : null;
  const [selected, setSelected] = useState(0);
  const [command, setCommand] = useState<CommandEntry | null>(null);
  const [ran, setRan] = useState<{ nonce: string | null; name: string } | null>(null);
  const listId = useId();
  const choose = (e: CommandEntry) => {
    setCommand(e);
    setSelected(0);
  };
  // The chosen emoji goes in at the caret; the focus returns to the text with the caret after it
  // (once the picker has closed and handed the focus back to its button).
  const insertEmoji = (text: string) => {
    const el = box.current;
    const r = insertAt(el?.value ?? '', el?.selectionStart ?? Infinity, el?.selectionEnd ?? Infinity, text);
    setText(r.value);
    setTimeout(() => {
      box.current?.focus();
      box.current?.setSelectionRange(r.caret, r.caret);
    });
  };
  const setText = (v: string) => {
    setTextState(v);
    if (v) localStorage.setItem(draftKey(channel.id), v);
    else localStorage.removeItem(draftKey(channel.id));
  };
  const lastTyping = useRef(0);
  const send = async () => {
    const content = text.trim();
    if (uploading || (!content && files.list.length === 0)) return;
    const nonce = newNonce();
    const reference = replyTo ? { message_reference: { message_id: replyTo.id } } : {};
    if (files.list.length > 0) {
      // Files are sent without an optimistic entry: the server may refuse them for reasons a
      // retry cannot fix (too large, too many), so text and files stay in the composer until
      // the server has taken them, and its error is shown here.
      setUploading(true);
      setUploadError(null);
      try {
        const sent = files.list;
        const m = await rest.sendMessageWithFiles(channel.id, { content, nonce, ...reference }, sent.map((d) => d.file));
        store.addMessage(m);
        setText('');
        files.clear(sent);
        clearReply();
      } catch (err) {
        setUploadError(t.uploadFailed(err instanceof ApiError ? err.detail() : String(err)));
      } finally {
        setUploading(false);
      }
      return;
    }
    setText('');
    clearReply();
    store.addPending(channel.id, { nonce, content, failed: false });
    try {
      store.addMessage(await rest.sendMessage(channel.id, { content, nonce, ...reference }));
    } catch (err) {
      store.failPending(channel.id, nonce, true, refusal(err));
    }
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (matches && !e.nativeEvent.isComposing) {
      const n = matches.length;
      const pick = matches[Math.min(selected, n - 1)];
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        if (n > 0) setSelected((i) => (Math.min(i, n - 1) + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && pick) {
        e.preventDefault();
        choose(pick);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(text);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    } else if (e.key === 'ArrowUp' && !text && files.list.length === 0 && !e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      if (onEditLast()) e.preventDefault();
    }
  };
  const onChange = (v: string) => {
    setText(v);
    if (v && Date.now() - lastTyping.current > 8000) {
      lastTyping.current = Date.now();
      rest.typing(channel.id).catch(() => undefined);
    }
  };
  // Pasted files (a screenshot, files copied in a file manager) are attached; pasted text stays text.
  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const pasted = filesOf(e.clipboardData);
    if (!mayAttach || pasted.length === 0) return;
    e.preventDefault();
    files.add(pasted);
  };
  if (command && guild)
    return (
      <CommandForm
        entry={command}
        guild={guild}
        channel={channel}
        onCancel={() => {
          setCommand(null);
          setTimeout(() => box.current?.focus());
        }}
        onRun={(nonce) => {
          setRan({ nonce, name: entryName(command) });
          setCommand(null);
          setText('');
          setTimeout(() => box.current?.focus());
        }}
      />
    );
  return (
    <form
      className="composer"
      aria-busy={uploading}
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      {ran && <InteractionStatus nonce={ran.nonce} label={t.bots.running(ran.name)} />}
      {matches && <CommandSuggestions id={listId} matches={matches} selected={Math.min(selected, Math.max(0, matches.length - 1))} onChoose={choose} />}
      {replyTo && (
        <div className="replying muted small">
          {t.replyingTo(displayName(replyTo))}{' '}
          <button type="button" className="link" onClick={clearReply}>
            {t.cancelReply}
          </button>
        </div>
      )}
      {files.list.length > 0 && (
        <ul className="drafts" aria-label={t.filesToSend}>
          {files.list.map((d) => (
            <li key={d.key} className="draft-file">
              {d.preview ? <img src={d.preview} alt={d.file.name} /> : <span aria-hidden="true">📄</span>}
              <span className="name">{d.file.name}</span>
              <span className="muted small">{formatSize(d.file.size)}</span>
              <button type="button" className="small secondary" aria-label={t.removeFile(d.file.name)} disabled={uploading} onClick={() => files.remove(d.key)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {uploadError && (
        <p role="alert" className="error upload-error">
          {uploadError}
        </p>
      )}
      {mayAttach && (
        <>
          <input
            ref={chooser}
            type="file"
            multiple
            hidden
            aria-label={t.attach}
            onChange={(e) => {
              files.add(Array.from(e.target.files ?? []));
              e.target.value = '';
            }}
          />
          <button type="button" className="secondary" aria-label={t.attach} title={t.attach} onClick={() => chooser.current?.click()}>
            +
          </button>
        </>
      )}
      <textarea
        ref={box}
        rows={1}
        aria-label={placeholder}
        {...(matches
          ? {
              'aria-controls': listId,
              'aria-autocomplete': 'list' as const,
              ...(matches.length > 0 ? { 'aria-activedescendant': optionId(listId, Math.min(selected, matches.length - 1)) } : {}),
            }
          : {})}
        placeholder={placeholder}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKey}
        onPaste={onPaste}
        readOnly={uploading}
      />
      <button type="button" className="secondary emoji-button" aria-haspopup="dialog" aria-label={t.emoji.open} title={t.emoji.open} onClick={() => setPicking(true)}>
        🙂
      </button>
      <button type="submit" disabled={uploading}>
        {uploading ? t.uploading : t.send}
      </button>
      {picking && <EmojiPicker guildId={guildId} title={t.emoji.open} onClose={() => setPicking(false)} onPick={(e) => insertEmoji(composerText(e))} />}
    </form>
  );
}
