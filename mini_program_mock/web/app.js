// The stand-in mini-program: a hash router over page modules (pages/index.js),
// the start screen that picks a WeChat account, and the tab bar.
import {createApi, facesConfig} from "/static/faces/api.js";
import {h, mount, navigate, toast} from "/static/faces/dom.js";
import {wx} from "./wx.js";
import {routes} from "./pages/index.js";

const view = document.getElementById("view");
const title = document.getElementById("title");
const back = document.getElementById("back");
const tabs = document.getElementById("tabs");

const api = createApi({storageKey: "mp.session", onLoggedOut: () => go("#/start")});

const me = (options) => api.me(options);

const go = (hash) => navigate(hash, render);

const ctx = {api, wx, me, go, toast, refreshUnread};

async function refreshUnread() {
  if (!api.session.get()) return;
  try {
    const answer = await api.get("/me/notices/unread");
    const badge = document.getElementById("unread");
    const count = answer.unread ?? 0;
    badge.hidden = !count;
    badge.textContent = count > 99 ? "99+" : String(count);
  } catch { /* the count is a hint */ }
}

async function render() {
  const [path, search] = (location.hash.slice(1) || "/").split("?");
  const loggedIn = Boolean(api.session.get());
  const name = !loggedIn && path !== "/start" ? "/start" : path;
  const page = routes[name] || routes["/404"];
  tabs.hidden = !loggedIn;
  back.hidden = name === "/" || name === "/start" || tabs.querySelector(`[data-tab="${name}"]`) !== null;
  for (const tab of tabs.querySelectorAll("a")) tab.classList.toggle("active", tab.dataset.tab === name);
  title.textContent = page.title;
  document.title = page.title + " · 党建红";
  // Each visit draws into a frame of its own: a page still loading when the
  // hash changes finishes into a detached frame, never over the next page.
  const frame = h("div", {class: "frame"}, h("p", {class: "empty"}, "加载中……"));
  view.replaceChildren(frame);
  try {
    await page.render(frame, {...ctx, params: new URLSearchParams(search || "")});
  } catch (error) {
    mount(frame, h("div", {class: "result bad", role: "alert"}, error.message || String(error)));
  }
  refreshUnread();
}

back.addEventListener("click", () => history.back());
window.addEventListener("hashchange", render);
facesConfig().then(render);
