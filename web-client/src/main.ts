/**
 * Entry point: the lobby, or straight into a room from a link `/?room=ID&name=NAME`.
 * Every player-supplied string reaches the DOM through `textContent` / `value` only.
 */
import faviconUrl from '../../assets/web/favicon.svg?url';
import { Game } from './game';
import { chooseName, guestName } from './names';
import { isValidRoomId } from './protocol';
import './style.css';

const NAME_KEY = 'tickcast.name';

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
}

function setFavicon(): void {
  const link = document.createElement('link');
  link.rel = 'icon';
  link.type = 'image/svg+xml';
  link.href = faviconUrl;
  document.head.appendChild(link);
}

function savedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function saveName(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // storage disabled: fine
  }
}

/** The page URL that joins `room` as `name` directly. */
export function roomLink(room: string, name?: string): string {
  const url = new URL(location.href);
  url.search = '';
  url.hash = '';
  url.searchParams.set('room', room);
  if (name) url.searchParams.set('name', name);
  return url.toString();
}

/** Navigates within the app; a join token in the page URL stays (it is not part of invites). */
function go(params: Record<string, string>): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  url.search = new URLSearchParams(token ? { ...params, token } : params).toString();
  url.hash = '';
  location.assign(url.toString());
}

interface RoomInfo {
  id: string;
  players: number;
  capacity: number;
}

/** Reads `/rooms` leniently: an array of rooms, or `{ rooms: [...] }`. */
export function parseRooms(json: unknown): RoomInfo[] {
  const list = Array.isArray(json)
    ? json
    : json && typeof json === 'object' && Array.isArray((json as { rooms?: unknown }).rooms)
      ? (json as { rooms: unknown[] }).rooms
      : [];
  const out: RoomInfo[] = [];
  for (const r of list) {
    if (!r || typeof r !== 'object') continue;
    const o = r as Record<string, unknown>;
    const id = typeof o.id === 'string' ? o.id : null;
    if (!id) continue;
    const players = typeof o.players === 'number' ? o.players : Number(o.players) || 0;
    const capacity =
      typeof o.capacity === 'number'
        ? o.capacity
        : typeof o.max_players === 'number'
          ? o.max_players
          : 0;
    out.push({ id, players, capacity });
  }
  return out;
}

function showLobby(params: URLSearchParams, error?: string): void {
  const lobby = $('lobby');
  lobby.hidden = false;
  const nameInput = $<HTMLInputElement>('name');
  const roomInput = $<HTMLInputElement>('room-id');
  const errorEl = $('lobby-error');
  nameInput.value = params.get('name') ?? savedName();
  // An empty name plays as this guest (shown in the field); it is saved, so it can be edited later.
  const guest = guestName();
  nameInput.placeholder = guest;
  const presetRoom = params.get('room');
  if (presetRoom) roomInput.value = presetRoom;
  errorEl.textContent = error ?? '';
  (nameInput.value ? roomInput : nameInput).focus();

  const requireName = (): string | null => {
    const choice = chooseName(nameInput.value, guest);
    if (!choice.ok) {
      errorEl.textContent = choice.problem;
      nameInput.focus();
      return null;
    }
    if (choice.guest) nameInput.value = choice.name;
    saveName(choice.name);
    return choice.name;
  };

  $('quick').addEventListener('click', () => {
    const name = requireName();
    if (name) go({ name, quick: '1' });
  });

  const list = $<HTMLUListElement>('room-list');
  const empty = $('rooms-empty');
  let refreshing = false;
  const refresh = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      const res = await fetch('rooms', { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const rooms = parseRooms(await res.json());
      list.replaceChildren(
        ...rooms.map((r) => {
          const li = document.createElement('li');
          const name = document.createElement('span');
          name.className = 'room-name';
          name.textContent = r.id;
          const count = document.createElement('span');
          count.className = 'room-count';
          count.textContent = r.capacity ? `${r.players}/${r.capacity}` : String(r.players);
          const join = document.createElement('button');
          join.type = 'button';
          const full = r.capacity > 0 && r.players >= r.capacity;
          join.textContent = full ? 'Full' : 'Join';
          join.disabled = full;
          join.addEventListener('click', () => {
            const n = requireName();
            if (n) go({ room: r.id, name: n });
          });
          li.append(name, count, join);
          return li;
        }),
      );
      empty.hidden = rooms.length > 0;
      empty.textContent = 'No rooms yet: quick-play or create one.';
    } catch {
      list.replaceChildren();
      empty.hidden = false;
      empty.textContent = 'Could not load the room list.';
    } finally {
      refreshing = false;
    }
  };
  $('refresh').addEventListener('click', () => void refresh());
  void refresh();
  const timer = setInterval(() => void refresh(), 3000);
  window.addEventListener('pagehide', () => clearInterval(timer));

  const share = $('share');
  const shareLink = $<HTMLInputElement>('share-link');
  // The invite link appears as soon as the room id is valid (the room is created on first join).
  const updateShare = () => {
    const room = roomInput.value.trim();
    share.hidden = !isValidRoomId(room);
    if (!share.hidden) shareLink.value = roomLink(room);
  };
  roomInput.addEventListener('input', updateShare);
  updateShare();
  $<HTMLFormElement>('create').addEventListener('submit', (e) => {
    e.preventDefault();
    const room = roomInput.value.trim();
    if (!isValidRoomId(room)) {
      errorEl.textContent = 'Room ids are 1–32 letters, digits, "-" or "_".';
      roomInput.focus();
      return;
    }
    const name = requireName();
    if (!name) return;
    go({ room, name });
  });
  $('copy').addEventListener('click', () => void copy(shareLink.value, $('copy')));
}

async function copy(text: string, button: HTMLElement): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied!';
  } catch {
    // No clipboard access (e.g. plain http on another host): let the player copy it by hand.
    window.prompt('Copy this link:', text);
  }
  setTimeout(() => (button.textContent = label), 1500);
}

/**
 * Tells the player, in plain words, that they are now in another room than before (their friends
 * are not here), with the new room's invite link in the address bar.
 */
function showMoved(from: string, to: string): void {
  let el = document.getElementById('moved');
  if (!el) {
    el = document.createElement('p');
    el.id = 'moved';
    el.setAttribute('role', 'status');
    Object.assign(el.style, {
      position: 'fixed',
      top: '0.5rem',
      left: '50%',
      transform: 'translateX(-50%)',
      margin: '0',
      padding: '0.4rem 0.8rem',
      borderRadius: '0.4rem',
      background: 'rgba(20, 24, 36, 0.9)',
      color: '#fff',
      font: '14px system-ui, sans-serif',
      zIndex: '10',
    });
    document.body.append(el);
  }
  el.textContent = `Room ${from} could not be rejoined, so you are now in room ${to}. Players from ${from} are not here: share the new invite link.`;
  el.hidden = false;
  setTimeout(() => (el.hidden = true), 15_000);
}

function startGame(room: string | null, name: string): void {
  const canvas = $<HTMLCanvasElement>('game');
  canvas.hidden = false;
  $('toolbar').hidden = false;
  document.title = room ? `${room} · tickcast arena` : 'tickcast arena';
  let roomId = room;
  const game = new Game({
    room,
    name,
    canvas,
    onRoom: (id) => {
      // After a reconnect the client rejoins its room by id (a full room is refused, 4001, and
      // said so by onRefused); should a server still place it in another room, say so.
      if (roomId !== null && roomId !== id) showMoved(roomId, id);
      roomId = id;
      document.title = `${id} · tickcast arena`;
      // Quick-play (or a redirect to another room) learns its room here: make the address bar
      // an invite link, unless it already is one.
      if (new URLSearchParams(location.search).get('room') === id) return;
      const link = new URL(roomLink(id, name));
      const token = new URLSearchParams(location.search).get('token');
      if (token) link.searchParams.set('token', token);
      history.replaceState(null, '', link.toString());
    },
    onNetStatsVisible: (visible) => {
      $('netstats').setAttribute('aria-pressed', String(visible));
    },
    onRefused: (code, message, reason) => {
      $('notice-title').textContent = code === 1000 ? 'Disconnected' : "Can't play right now";
      $('notice-text').textContent = message;
      const what =
        code === 0 ? 'no connection' : code < 1000 ? `HTTP ${code}` : `close code ${code}`;
      $('notice-reason').textContent = reason ? `Server said: “${reason}” (${what})` : what;
      $('notice').hidden = false;
      $('notice-back').focus();
    },
  });
  $('notice-back').addEventListener('click', () => {
    game.stop();
    go({ name });
  });
  $('leave').addEventListener('click', () => {
    game.stop();
    go({ name });
  });
  $('netstats').addEventListener('click', () => game.setNetStatsVisible(!game.netStatsShown));
  $('invite').addEventListener('click', () => {
    if (roomId) void copy(roomLink(roomId), $('invite'));
  });
  // Leave on purpose when the page goes away (see `Connection.leave`), as early as the page
  // knows: `beforeunload` comes before the navigation starts; `pagehide` is for the pages that
  // skip it (bfcache, mobile tab switches). The second call finds the socket closed already.
  const leave = () => game.leave();
  window.addEventListener('beforeunload', leave);
  window.addEventListener('pagehide', leave);
  game.start();
}

function main(): void {
  setFavicon();
  const params = new URLSearchParams(location.search);
  const rawName = params.get('name');
  const room = params.get('room');
  const quick = params.get('quick') === '1';
  // Quick play needs no name (the saved one, or a guest name); a room link without one shows
  // the lobby, so whoever follows an invite can pick a name first.
  if (quick || (rawName !== null && room !== null)) {
    const choice = chooseName(rawName ?? savedName(), guestName());
    if (!choice.ok) {
      showLobby(params, choice.problem);
      return;
    }
    const name = choice.name;
    if (room !== null && !isValidRoomId(room)) {
      showLobby(params, 'That room id is not valid (1–32 letters, digits, "-" or "_").');
      return;
    }
    saveName(name);
    startGame(quick ? null : room, name);
    return;
  }
  showLobby(params);
}

main();
