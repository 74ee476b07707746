// Types of tcp-proxy.mjs, for the TypeScript tests that use it (the SDK's Node integration test).
export interface ProxiedConnection {
  acceptedAt: number;
  upgradedAt: number | null;
  serverClose: { code: number; reason: string; at: number } | null;
  endedAt: number | null;
}

export interface TcpProxy {
  url: string;
  stats: { refused: number; dropped: number };
  connections: ProxiedConnection[];
  readonly webSockets: ProxiedConnection[];
  drop(): number;
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export function startTcpProxy(targetPort: number): Promise<TcpProxy>;
