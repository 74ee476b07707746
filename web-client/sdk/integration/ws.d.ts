// The `ws` package as the integration test uses it (the package ships no types, and the SDK
// only needs its WebSocket class, which matches the SDK's `WebSocketCtor`).
declare module 'ws' {
  import type { WebSocketCtor } from 'tickcast-client';
  const WebSocket: WebSocketCtor;
  export default WebSocket;
}
