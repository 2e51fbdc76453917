// The instance administrator's section of the Settings dialog: the federation peers (member
// servers of the guilds hosted here) with their delivery state, read only, from
// `GET /admin/federation/peers`. The server answers it to instance administrators only; for
// anyone else (403) the section is not shown.
import { useEffect, useState } from 'react';
import { ApiError, type FederationPeer } from '../../api/rest';
import { t } from '../../strings';
import { useClient } from '../context';

/** The state shown for a peer: blocked, dead, failing, delivering, or up to date. */
export function peerState(p: FederationPeer): keyof typeof t.peerStates {
  if (p.blocked) return 'blocked';
  if (p.dead) return 'dead';
  if (p.failures > 0) return 'failing';
  return p.pending > 0 ? 'lagging' : 'ok';
}

export function FederationPeers() {
  const { rest } = useClient();
  const [peers, setPeers] = useState<FederationPeer[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    rest.federationPeers().then(
      (p) => live && setPeers(p),
      (e: unknown) => {
        if (!live || (e instanceof ApiError && e.status === 403)) return;
        setError(e instanceof ApiError ? e.detail() : String(e));
      },
    );
    return () => {
      live = false;
    };
  }, [rest]);
  if (!peers && !error) return null;
  return (
    <section aria-labelledby="peers-title">
      <h3 id="peers-title">{t.federationPeers}</h3>
      <p className="small">{t.federationPeersHelp}</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {peers && peers.length === 0 && <p>{t.noPeers}</p>}
      {peers && peers.length > 0 && (
        <table className="peers" aria-labelledby="peers-title">
          <thead>
            <tr>
              <th scope="col">{t.peerServer}</th>
              <th scope="col">{t.peerGuilds}</th>
              <th scope="col">{t.peerPending}</th>
              <th scope="col">{t.peerState}</th>
            </tr>
          </thead>
          <tbody>
            {peers.map((p) => (
              <tr key={p.server}>
                <th scope="row">{p.server}</th>
                <td>{p.guilds}</td>
                <td>{p.pending}</td>
                <td>{t.peerStates[peerState(p)]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
