// Every page of the stand-in: path -> {title, render(view, ctx)}; each group of
// users keeps its pages (and its home-screen entries) in its own folder.
import * as core from "./core.js";
import * as member from "./member/index.js";
import * as resident from "./resident/index.js";
import * as leader from "./leader/index.js";
import * as consoleLogin from "./console-login.js";

const groups = [member, resident, leader];

export const routes = Object.assign({}, core.routes, ...groups.map((group) => group.routes),
  {"/console-login": consoleLogin.page});

/** Home-screen entries: {section, label, icon, href, show(me)} from each group. */
export const menu = groups.flatMap((group) => group.menu);
