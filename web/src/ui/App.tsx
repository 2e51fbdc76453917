import { useCallback, useEffect, useMemo, useState } from 'react';
import { Gateway } from '../api/gateway';
import { ApiError, Rest, type TokenStore } from '../api/rest';
import type { Invite, Message, ReauthRequest, TokenPair } from '../api/wire';
import { compareIds, Store, useStore } from '../state/store';
import { t } from '../strings';
import { AuthScreen } from './AuthScreen';
import { ClientContext, useClient, type Client } from './context';
import { JoinGuildDialog } from './Dialogs';
import { MemberList } from './MemberList';
import { MessageView } from './Messages';
import { InteractionModal } from './Components';
import { navigate, useRoute } from './route';
import { ReauthDialog } from './Security';
import { Shortcuts } from './Shortcuts';
import { ProfileProvider } from './Profile';
import { ChannelList, DmList, GuildBar, textChannels } from './Sidebar';
import { ForumView } from './Forum';
import { useThread } from './Threads';
import { isForum } from '../threads';
import { GroupDmPanel, isGroupDm } from './GroupDms';

/**
 * Tokens live in sessionStorage: they survive a reload of this tab and are gone when it
 * closes; no other tab or site reads them. (An HttpOnly cookie would keep them from scripts
 * too; Hearth's API takes bearer tokens only, see web/README.md.)
 */
const KEY = 'hearth.tokens';
const sessionTokens: TokenStore = {
  get() {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as TokenPair) : null;
  },
  set(p) {
    if (p) sessionStorage.setItem(KEY, JSON.stringify(p));
    else sessionStorage.removeItem(KEY);
  },
};

export function App() {
  const [token, setToken] = useState<TokenPair | null>(() => sessionTokens.get());
  const rest = useMemo(
    () =>
      new Rest({
        get: sessionTokens.get,
        set(p) {
          sessionTokens.set(p);
          if (!p) setToken(null);
        },
      }),
    [],
  );
  const route = useRoute();
  const logout = useCallback(() => {
    sessionTokens.set(null);
    setToken(null);
  }, []);
  const [invite, setInvite] = useState<Invite | null>(null);
  const code = route.kind === 'invite' ? route.code : null;
  useEffect(() => {
    if (code) rest.getInvite(code).then(setInvite, () => setInvite(null));
  }, [rest, code]);

  if (!token) {
    const onToken = (p: TokenPair) => {
      sessionTokens.set(p);
      setToken(p);
    };
    const notice = invite?.guild ? `${t.invitedTo(invite.guild.name)}. ${t.signUpToJoin}` : undefined;
    return <AuthScreen rest={rest} onToken={onToken} {...(notice ? { notice } : {})} />;
  }
  return <Session key={token.session_id} rest={rest} onLogout={logout} />;
}

function Session({ rest, onLogout }: { rest: Rest; onLogout: () => void }) {
  const store = useMemo(() => new Store(), []);
  useEffect(() => {
    const gw = new Gateway(() => sessionTokens.get()?.token ?? null, {
      dispatch: (e, d) => {
        store.dispatch(e, d);
        // A message in a DM this client does not know yet (the other user opened it): the
        // DM list is fetched again (Hearth sends CHANNEL_CREATE only to the user who opens it).
        if (e === 'MESSAGE_CREATE') {
          const m = d as Message;
          if (!m.guild_id && !store.state.dms.some((c) => c.id === m.channel_id)) {
            rest.dms().then(
              (list) => store.setDms(list),
              () => undefined,
            );
          }
        }
      },
      status: (status) => store.set(() => ({ status })),
      unauthorized: onLogout,
    });
    gw.start();
    // The guild on screen is subscribed (passive guilds, spec/gateway.md).
    const unsubscribe = store.subscribe(() => gw.subscribe(store.state.openGuild));
    return () => {
      unsubscribe();
      gw.stop();
    };
  }, [store, rest, onLogout]);
  const client: Client = useMemo(
    () => ({
      rest,
      store,
      logout() {
        rest.logout().catch((e: unknown) => e instanceof ApiError || console.error(e));
        onLogout();
      },
    }),
    [rest, store, onLogout],
  );
  // 401 60003: ask the user to prove it is them, then let the REST client repeat the call.
  const [reauth, setReauth] = useState<{ request: ReauthRequest; done: (ok: boolean) => void } | null>(null);
  useEffect(() => {
    rest.setReauth(
      (request) =>
        new Promise<boolean>((resolve) =>
          setReauth({
            request,
            done(ok) {
              setReauth(null);
              resolve(ok);
            },
          }),
        ),
    );
    return () => rest.setReauth(null);
  }, [rest]);
  return (
    <ClientContext.Provider value={client}>
      <ProfileProvider>
        <Shell />
      </ProfileProvider>
      {reauth && <ReauthDialog request={reauth.request} done={reauth.done} />}
    </ClientContext.Provider>
  );
}

function Shell() {
  const { store } = useClient();
  const route = useRoute();
  const status = useStore(store, (s) => s.status);
  const guilds = useStore(store, (s) => s.guilds);
  const dms = useStore(store, (s) => s.dms);
  const guildId = route.kind === 'channel' ? route.guild : null;
  const home = guildId === '@me';
  const guild = guilds.find((g) => g.id === guildId);
  const channels = useMemo(() => (guild ? textChannels(guild).flatMap((x) => x.channels) : []), [guild]);
  const channelId = route.kind === 'channel' ? route.channel : null;
  const jump = route.kind === 'channel' ? route.message : null;
  const channel = channels.find((c) => c.id === channelId) ?? (channelId ? undefined : channels[0]);
  const dm = home ? dms.find((c) => c.id === channelId) : undefined;
  // A thread (or forum post) on screen: from the store, or fetched when the client lacks it.
  const thread = useThread(guild, channel ? null : channelId);

  // The DMs in the order of their list (newest conversation first), for Alt+Up/Down at home.
  const latest = useStore(store, (s) => s.latest);
  const homeList = useMemo(() => {
    const newest = (c: (typeof dms)[number]) => latest[c.id] ?? c.last_message_id ?? c.id;
    return [...dms].sort((a, b) => compareIds(newest(b), newest(a)));
  }, [dms, latest]);

  // The guild on screen: the gateway subscribes to it.
  useEffect(() => {
    store.openGuild(home ? null : guildId);
  }, [store, home, guildId]);

  // `/channels/{guild}` opens its first text channel.
  useEffect(() => {
    if (guild && !channelId && channels[0]) navigate(`/channels/${guild.id}/${channels[0].id}`, true);
  }, [guild, channelId, channels]);

  return (
    <div className={home ? (dm && isGroupDm(dm) ? 'shell home group' : 'shell home') : 'shell'}>
      {status !== 'ready' && (
        <div className="banner status" role="status">
          {status === 'reconnecting' ? t.reconnecting : t.connecting}
        </div>
      )}
      <GuildBar current={guildId} />
      {home ? (
        <>
          <DmList current={dm?.id ?? null} />
          {dm ? (
            <MessageView key={dm.id} guild={null} channel={dm} jump={jump} />
          ) : (
            <main className="empty">
              <p>{t.pickDm}</p>
            </main>
          )}
          {dm && isGroupDm(dm) && <GroupDmPanel channel={dm} />}
        </>
      ) : guild ? (
        <>
          <ChannelList guild={guild} current={(thread ?? channel)?.id ?? null} currentParent={thread?.parent_id ?? null} />
          {thread ? (
            <MessageView key={thread.id} guild={guild} channel={thread} jump={jump} />
          ) : channel && isForum(channel) ? (
            <ForumView key={channel.id} guild={guild} forum={channel} />
          ) : channel ? (
            <MessageView key={channel.id} guild={guild} channel={channel} jump={jump} />
          ) : (
            <main className="empty">
              <p>{t.noChannel}</p>
            </main>
          )}
          <MemberList guild={guild} channelId={thread?.parent_id ?? channel?.id ?? null} />
        </>
      ) : (
        <main className="empty wide">
          <h1>{t.appName}</h1>
          <p>{t.noGuild}</p>
        </main>
      )}
      <Shortcuts guild={home ? null : (guild ?? null)} channels={home ? homeList : channels} current={home ? (dm?.id ?? null) : (thread?.parent_id ?? channel?.id ?? null)} />
      <InteractionModal />
      {route.kind === 'invite' && <JoinGuildDialog initial={route.code} onClose={() => navigate('/', true)} />}
    </div>
  );
}
