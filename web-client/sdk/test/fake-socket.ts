/**
 * A scripted stand-in for the browser WebSocket, shared by the connection and room tests: it
 * records what the client sends (decoded as arena messages) and lets a test play the server.
 */
import { encode } from '@msgpack/msgpack';
import { decodeClientMsg, type ArenaClientMsg as ClientMsg } from '../../src/arena';

export class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  sent: ClientMsg[] = [];
  sentBytes: number[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this);
  }
  send(bytes: Uint8Array) {
    this.sent.push(decodeClientMsg(bytes));
    this.sentBytes.push(bytes.byteLength);
  }
  closedWith: number | null = null;
  close(code?: number) {
    this.closedWith = code ?? null;
    this.readyState = FakeSocket.CLOSED;
  }
  // Test helpers
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  receive(hex: string) {
    const bytes = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
    this.onmessage?.({ data: bytes.buffer });
  }
  /** Sends `Redirect { url, room_id }` then closes with 4007, as a node that does not own the room. */
  redirectTo(url: string, roomId: string) {
    this.onmessage?.({ data: encode({ redirect: [url, roomId] }).slice().buffer });
    this.serverClose(4007, 'room is on another node: reconnect there now with your token');
  }
  serverClose(code: number, reason = '') {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
}

// The golden "welcome" vector: resume_token "tok123".
export const WELCOME =
  '81a777656c636f6d6597c410ababababababababababababababababa272311e2a0898ca44c80000ca44610000ca41a00000ca41000000ca44e10000ca43a00000ca3ca3d70aca3fcccccda6746f6b313233';
