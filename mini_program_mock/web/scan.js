// What a scanned QR is, as the mini-program's entry page would tell:
// https://<host>/q/<token> carries a signed code whose second byte names its
// kind; https://<host>/b/<token> is a member's badge.
const KINDS = {R: "center", S: "center", P: "post_plate", M: "merchant_plate", T: "task"};

export function classify(text) {
  const value = (text || "").trim();
  const badge = value.match(/\/b\/([^/?#\s]+)/);
  if (badge) return {kind: "badge", token: badge[1], text: value};
  const code = value.match(/\/q\/([A-Za-z0-9_-]+)/);
  const token = code ? code[1] : (/^[A-Za-z0-9_-]{20,}$/.test(value) ? value : null);
  if (!token) return {kind: "unknown", text: value};
  try {
    const raw = atob(token.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (token.length % 4)) % 4));
    return {kind: KINDS[raw[1]] || "unknown", token, text: value};
  } catch {
    return {kind: "unknown", text: value};
  }
}

/** The page a scan opens: #/checkin, #/verify, #/plate or #/task-code, with the text. */
export function routeFor(scanned) {
  const text = encodeURIComponent(scanned.text);
  switch (scanned.kind) {
    case "center": return `#/checkin?code=${text}`;
    case "badge": return `#/verify?code=${text}`;
    case "post_plate":
    case "merchant_plate": return `#/plate?code=${text}`;
    case "task": return `#/task-code?code=${text}`;
    default: return null;
  }
}
