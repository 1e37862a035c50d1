// The console: a hash router over page modules (pages/index.js), the login
// screen, the scope (which organization of the admin's the pages show) and the nav.
import {h, mount, navigate, toast} from "/static/faces/dom.js";
import {nav, routes} from "./pages/index.js";
import {ADMIN_ROLES, api, ROLE_NAMES} from "./session.js";

const view = document.getElementById("view");
const navEl = document.getElementById("nav");
const who = document.getElementById("who");
const scopeEl = document.getElementById("scope");


const me = (options) => api.me(options);

const go = (hash) => navigate(hash, render);

/** The grant the pages work under: {id, role, org: {id, kind, name}}. */
function scopeOf(profile) {
  const grants = profile.roles.filter((grant) => ADMIN_ROLES.has(grant.role));
  const chosen = Number(localStorage.getItem("admin.scope"));
  return grants.find((grant) => grant.id === chosen) || grants[0] || null;
}

function drawTop(profile, scope) {
  const grants = profile.roles.filter((grant) => ADMIN_ROLES.has(grant.role));
  mount(scopeEl, grants.length > 1
    ? h("select", {"aria-label": "当前组织", onchange: (event) => { localStorage.setItem("admin.scope", event.target.value); render(); }},
        ...grants.map((grant) => h("option", {value: grant.id, selected: grant.id === scope?.id},
          `${grant.org.name} · ${ROLE_NAMES[grant.role]}`)))
    : h("span", {}, scope ? `${scope.org.name} · ${ROLE_NAMES[scope.role]}` : ""));
  mount(who, h("span", {}, `用户 #${profile.user.id}`),
    h("button", {onclick: async () => { await api.logout(); go("#/login"); }}, "退出"));
}

function drawNav(path, scope) {
  const groups = new Map();
  for (const entry of nav.filter((item) => !item.roles || item.roles.includes(scope.role))) {
    if (!groups.has(entry.group)) groups.set(entry.group, []);
    groups.get(entry.group).push(entry);
  }
  mount(navEl, ...[...groups].map(([group, entries]) => [
    h("div", {class: "group"}, group),
    ...entries.map((entry) => h("a", {href: entry.href, class: path === entry.href.slice(1).split("?")[0] ? "active" : null}, entry.label))]));
}

async function render() {
  const [path, search] = (location.hash.slice(1) || "/").split("?");
  const hasSession = Boolean(api.session.get());
  const name = !hasSession ? "/login" : path;
  const page = routes[name] || routes["/404"];
  document.title = page.title + " · 党建红管理后台";
  navEl.hidden = true;
  mount(scopeEl);
  mount(who);
  // Each visit draws into a frame of its own: a page still loading when the
  // hash changes finishes into a detached frame, never over the next page.
  const frame = h("div", {class: "frame"}, h("p", {class: "empty"}, "加载中……"));
  view.replaceChildren(frame);
  const ctx = {api, go, toast, me, loggedIn, params: new URLSearchParams(search || ""), scope: null};
  try {
    if (hasSession) {
      const profile = await me();
      ctx.scope = scopeOf(profile);
      drawTop(profile, ctx.scope);
      if (!ctx.scope && name !== "/login") {
        mount(frame, h("div", {class: "result bad", role: "alert"}, "此账号没有管理权限（需要区委、组织或阵地管理员角色）。"));
        return;
      }
      if (ctx.scope) {
        navEl.hidden = false;
        drawNav(name, ctx.scope);
      }
    }
    await page.render(frame, ctx);
  } catch (error) {
    mount(frame, h("div", {class: "result bad", role: "alert"}, error.message || String(error)));
  }
}

/** After a login (any way): forget the previous user's profile and open the console. */
function loggedIn() {
  go("#/");
}

window.addEventListener("hashchange", render);
render();
