// A game client written against the packed `tickcast-client`: a counter game whose input is a
// number, whose state is a list of players, with no delta support (full snapshots only). It
// only has to type-check (`tsc --noEmit`, with no DOM and no Node types): that the package's
// declarations are complete and usable on their own.
import {
  connect,
  makeCodec,
  arr,
  str,
  uint,
  type GameClient,
  type GameWire,
  type WebSocketCtor,
} from 'tickcast-client';

interface Player {
  id: string;
  score: number;
}
interface State {
  players: Player[];
}

const wire: GameWire<number, State, null, never> = {
  inputToWire: (n) => n,
  inputFromWire: (v) => uint(v, 'input'),
  infoFromWire: () => null,
  stateFromWire: (v) => ({
    players: arr(v, 'players', 0).map((p) => {
      const f = arr(p, 'player', 2);
      return { id: str(f[0], 'id'), score: uint(f[1], 'score') };
    }),
  }),
  patchFromWire: () => {
    throw new Error('this game sends full snapshots');
  },
};

const counter: GameClient<number, State, null, never> = {
  codec: makeCodec(wire),
  players: (s) => s.players,
};

export async function play(url: string, WebSocket?: WebSocketCtor): Promise<void> {
  const room = await connect(url, { game: counter, name: 'example', WebSocket });
  room.on('snapshot', (state, tick) => {
    const best = Math.max(0, ...state.players.map((p) => p.score));
    if (tick % 30 === 0) console.log(`tick ${tick}: best score ${best}`);
  });
  room.on('moved', (from, to) => console.log(`room ${from} is gone; now in ${to}`));
  room.on('close', (code, message) => console.log(`closed (${code}): ${message}`));
  const seq: number | null = room.sendInput(1);
  console.log(`sent input ${seq}, rtt ${room.rttMs ?? '?'} ms, ${room.stats.snapshotRate} snap/s`);
  room.leave();
}

declare const console: { log(...args: unknown[]): void };
