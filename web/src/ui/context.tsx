import { createContext, useContext } from 'react';
import type { Rest } from '../api/rest';
import type { Store } from '../state/store';

export interface Client {
  rest: Rest;
  store: Store;
  logout(): void;
}

export const ClientContext = createContext<Client | null>(null);

export function useClient(): Client {
  const c = useContext(ClientContext);
  if (!c) throw new Error('useClient outside ClientContext');
  return c;
}
