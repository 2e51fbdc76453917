// How people of other servers are named: a handle is `name@server` (the last `@` separates
// them); a user whose server is not this client's own is shown as `name@server`.

/** The server part of a handle, or null when it has none. */
export function serverOf(handle: string | undefined | null): string | null {
  const at = handle?.lastIndexOf('@') ?? -1;
  return handle && at > 0 && at < handle.length - 1 ? handle.slice(at + 1) : null;
}

/** `user`'s server when it is another one than that of `me` (the signed-in user's handle);
 *  null for users of this server, and while `me` is not known. */
export function remoteServer(user: { handle?: string } | undefined | null, me: string | undefined | null): string | null {
  const theirs = serverOf(user?.handle);
  const ours = serverOf(me);
  return theirs && ours && theirs.toLowerCase() !== ours.toLowerCase() ? theirs : null;
}
