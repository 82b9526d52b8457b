// The station's outbox in IndexedDB: every scan or button press is stored first, with an
// event_id made here and the time it happened, and sent in order, one at a time. An item leaves
// the outbox only once the MES answered it (200, 409 or 422); after a lost answer it is sent
// again under the same event_id and the MES gives its first answer. The outbox survives a
// reload and a browser restart. Refusals of items that had to wait go to "attention".

const DB = "shopfloor-station";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      req.result.createObjectStore("attention", { keyPath: "event_id" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

const dbReady = open();

async function tx(store, mode, fn) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const req = fn(t.objectStore(store));
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
  });
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const add = (item) => tx("outbox", "readwrite", (s) => s.add(item));
export const all = (station) =>
  tx("outbox", "readonly", (s) => s.getAll()).then((xs) => xs.filter((x) => x.station === station));
export const remove = (seq) => tx("outbox", "readwrite", (s) => s.delete(seq));
export const markTried = (item) => tx("outbox", "readwrite", (s) => s.put({ ...item, tried: true }));
export const attention = (station) =>
  tx("attention", "readonly", (s) => s.getAll()).then((xs) => xs.filter((x) => x.station === station));
export const needsAttention = (entry) => tx("attention", "readwrite", (s) => s.put(entry));
export const dismiss = (eventId) => tx("attention", "readwrite", (s) => s.delete(eventId));
