// creditsim dashboard: plain JavaScript, no build step, nothing fetched but this server's API.
"use strict";

const POLL_MS = 500;
const NARROW_PLOTS = ["sanctions"];  // drawn in one column for a phone (?layout=narrow)
const state = {
  preset: null,        // the preset's description (/api/presets/{name}): defaults and choices
  presets: [],
  runJob: null,        // the job of the run page
  compareJob: null,    // the job of the compare page
  lastRun: null,       // the id of the last run shown on the run page
  blacklist: { run: null, page: 1, wrongful: false, entry: "", selected: 0, first: false },
};

// ------------------------------------------------------------------------------------ helpers

function $(id) { return document.getElementById(id); }

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const init = Object.assign({ headers: {} }, options || {});
  if (init.body !== undefined) {
    init.method = init.method || "POST";
    init.body = JSON.stringify(init.body);
  }
  // The server takes a request that changes something (POST, DELETE) only as JSON.
  if (init.method && init.method !== "GET") init.headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Error("the dashboard server does not answer (was it stopped?)");
  }
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error : `${response.status} ${response.statusText}`;
    const failure = new Error(message);
    failure.status = response.status;
    throw failure;
  }
  return body;
}

function showError(id, error) {
  const node = $(id);
  if (!error) { node.hidden = true; node.textContent = ""; return; }
  node.textContent = typeof error === "string" ? error : error.message;
  node.hidden = false;
}

function fill(container, ...parts) {
  container.replaceChildren(...parts.flat().filter((part) => part !== null && part !== undefined && part !== false));
}

function num(value) { return value === null || value === undefined ? "—" : value; }

function plural(count, word) { return `${count} ${word}${count === 1 ? "" : "s"}`; }

function table(caption, header, rows, numeric, options) {
  const opts = options || {};
  const head = h("tr", {}, header.map((text, i) =>
    h("th", { scope: "col", class: numeric.includes(i) ? "num" : null, text })));
  const body = rows.map((row) => {
    const cells = row.cells.map((cell, i) => {
      const attrs = { class: numeric.includes(i) ? "num" : null };
      if (row.keys && row.keys[i]) attrs["data-key"] = row.keys[i];
      return i === 0 ? h("th", Object.assign({ scope: "row" }, attrs), cell) : h("td", attrs, cell);
    });
    return h("tr", { class: row.class || null, dataset: row.dataset || null }, cells);
  });
  return h("div", { class: "wide" }, h("table", { id: opts.id || null, class: opts.compact ? "compact" : null },
    caption ? h("caption", { text: caption }) : null, h("thead", {}, head), h("tbody", {}, body)));
}

// -------------------------------------------------------------------------------------- pages

const PAGES = ["run", "runs", "view", "compare", "blacklist"];

function route() {
  const hash = location.hash.replace(/^#/, "").split("?")[0] || "/";
  const parts = hash.split("/").filter(Boolean);
  let page = "run";
  if (parts[0] === "runs" && parts[1]) page = "view";
  else if (parts[0] === "compares" && parts[1]) page = "view";
  else if (parts[0] === "runs") page = "runs";
  else if (parts[0] === "compare") page = "compare";
  else if (parts[0] === "blacklist") page = "blacklist";
  for (const name of PAGES) $(`page-${name}`).hidden = name !== page;
  const navPage = page === "view" ? "runs" : page;
  for (const link of document.querySelectorAll("header nav a")) {
    const current = link.dataset.page === navPage;
    link.classList.toggle("current", current);
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  window.scrollTo(0, 0);
  showError("fatal", null);
  const load = {
    run: openRunPage,
    runs: loadRuns,
    view: () => (parts[0] === "runs" ? loadRunView(parts[1]) : loadCompareView(parts[1])),
    compare: loadComparePage,
    blacklist: () => openBlacklist(parts[1] ? Number(parts[1]) : null),
  }[page];
  Promise.resolve(load()).catch((error) => showError("fatal", error));
  document.title = {
    run: "Run · creditsim dashboard", runs: "Past runs · creditsim dashboard",
    view: `${parts[0] === "runs" ? "Run" : "Comparison"} ${parts[1]} · creditsim dashboard`,
    compare: "Compare · creditsim dashboard", blacklist: "Blacklist · creditsim dashboard",
  }[page];
}

// ------------------------------------------------------------------------------- the run page

const RESPONSES = ["enabled", "deterrence", "gaming", "informing", "giving_up"];
const PLAIN = {  // what a reader calls each setting, for messages at the field
  population: "Citizens", years: "Years", seed: "Seed", camera_density: "Camera density",
  fpir: "False match rate (FPIR)", informant_false_share: "False reports",
  appeal_success_wrongful: "Success, wrongful sanction", appeal_success_rightful: "Success, deserved sanction",
};

async function loadPresets() {
  state.presets = await api("/api/presets");
  const select = $("preset");
  select.replaceChildren(...state.presets.map((p) => h("option", { value: p.name, text: p.name })));
  select.value = "national-2018";
  const b = $("compare-b");
  for (const p of state.presets) b.append(h("option", { value: p.name, text: p.name }));
  b.value = "no-system";
  const query = runQuery();  // read before loading the preset, which saves its own defaults
  const wanted = query.get("preset");
  if (wanted && state.presets.some((p) => p.name === wanted)) select.value = wanted;
  await loadPreset(select.value);
  applyQuery(query);
}

function fmtLimit(value) {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en");
  return String(Number(value.toPrecision(4)));
}

function limitWords(limit) {
  // "0 to 100", "more than 0, at most 10", "0 to under 1"
  const low = limit.min_open ? `more than ${fmtLimit(limit.min)}` : fmtLimit(limit.min);
  if (limit.max_open) return `${low} to under ${fmtLimit(limit.max)}`;
  return limit.min_open ? `${low}, at most ${fmtLimit(limit.max)}` : `${low} to ${fmtLimit(limit.max)}`;
}

function setLimit(node, limit, why) {
  // The knob's limits as attributes (checked before Run) and in words beside it.
  if (!limit) return;
  Object.assign(node.dataset, { min: limit.min, max: limit.max, minOpen: limit.min_open, maxOpen: limit.max_open, integer: limit.integer });
  node.min = limit.min;
  node.max = limit.max;
  if (why) node.dataset.why = why;
  let shown = node.parentNode.querySelector(`.limit[data-for="${node.id || node.dataset.key}"]`);
  if (!shown) {
    shown = h("span", { class: "limit", "data-for": node.id || node.dataset.key });
    node.insertAdjacentElement("afterend", shown);
  }
  shown.textContent = limitWords(limit);
}

async function loadPreset(name) {
  const preset = await api(`/api/presets/${encodeURIComponent(name)}`);
  state.preset = preset;
  clearFieldErrors();
  $("preset-description").textContent = preset.description || "";
  const limits = preset.limits;
  const lim = limits.knobs;
  $("population").value = preset.run.population;
  setLimit($("population"), lim.population, "the most this dashboard runs (larger runs: the command line)");
  $("years").value = preset.run.years;
  setLimit($("years"), lim.years);
  $("seed").value = preset.run.seed;
  setLimit($("seed"), lim.seed);
  timeHint();
  setValue("camera_density", 1);
  setLimit($("camera_density"), lim.camera_density, "the densest region times it must stay within 100,000 cameras per 1,000 people");
  $("regions").replaceChildren(...preset.regions.map((r) => {
    const input = h("input", { type: "number", step: 0.1, "data-region": r.name, "data-key": `region-${r.name}`, "data-default": 1, value: 1, "aria-label": `camera density of ${r.name}` });
    const label = h("label", { class: "row" }, `${r.name} (${r.cameras_per_1000.toLocaleString("en")}/1,000) ×`, input);
    setLimit(input, lim.camera_density_by_region[r.name]);
    return label;
  }));
  setValue("fpir", preset.camera.fpir);
  setLimit($("fpir"), lim.fpir);
  $("fpir-hint").textContent = `The share of searches that match the wrong person on a reference gallery (${preset.camera.fpir} is 1 in ${Math.round(1 / preset.camera.fpir).toLocaleString("en")}); it grows with the gallery, to ${(preset.camera.fpir_at_gallery * 100).toFixed(2)}% against ${(preset.camera.gallery_size / 1e9).toLocaleString("en")} billion ID photos.`;
  $("groups").replaceChildren(...preset.groups.map((g) => {
    const input = h("input", { type: "number", step: 0.5, "data-group": g.name, "data-key": `group-${g.name}`, "data-default": g.fpir_multiplier, value: g.fpir_multiplier, "aria-label": `false matches of group ${g.name}` });
    const label = h("label", { class: "row" }, g.name, input);
    setLimit(input, lim.fpir_multiplier);
    return label;
  }));
  setValue("informant_false_share", preset.informant.false_share);
  setLimit($("informant_false_share"), lim.informant_false_share, "a share: every report false would make informants meaningless");
  const policy = preset.policy;
  $("policy-hint").textContent = `The lowest score of each grade of the ${policy.name} score (${policy.type}, ${policy.minimum} to ${policy.maximum}, everyone starts at ${policy.start}). Each grade's floor lies below the grade above it and above the one below; the lowest grade starts at or below ${policy.minimum}, so that every score has a grade.`;
  $("grades").replaceChildren(...policy.grades.map((g) => {
    const input = h("input", { type: "number", step: 10, "data-grade": g.grade, "data-key": `grade-${g.grade}`, "data-default": g.min_score, value: g.min_score, "aria-label": `lowest score of grade ${g.grade}` });
    const label = h("label", { class: "row" }, h("span", { class: "grade", text: g.grade }), input);
    setLimit(input, lim.grade_floor);
    return label;
  }));
  gradeLimits();
  const rows = preset.sanctions.map((s) => {
    const grade = s.trigger_grade === null ? h("span", { class: "hint", text: "no grade" }) :
      h("select", { "data-trigger": s.name, "data-default": s.trigger_grade, "aria-label": `trigger grade of ${s.label}` },
        s.grades.map((g) => h("option", { value: g, text: `${s.trigger === "grade at or above" ? "≥" : "≤"} ${g.replace(/_/g, " ")}` })));
    if (s.trigger_grade !== null) grade.value = s.trigger_grade;
    const days = h("input", { type: "number", step: 1, "data-duration": s.name, "data-key": `days-${s.name}`, "data-default": s.duration_days, value: s.duration_days, "aria-label": `days of ${s.label}` });
    const cell = h("td", {}, days);
    setLimit(days, lim.duration_days);
    return h("tr", {}, h("th", { scope: "row" }, s.label, s.kind === "reward" ? h("span", { class: "hint", text: " (reward)" }) : null),
      h("td", {}, grade), cell);
  });
  $("sanction-knobs").tBodies[0].replaceChildren(...rows);
  $("appeals").checked = preset.appeals.enabled;
  $("appeals").dataset.default = String(preset.appeals.enabled);
  setValue("appeal_success_wrongful", preset.appeals.success_rate_wrongful);
  setLimit($("appeal_success_wrongful"), lim.appeal_success_wrongful);
  setValue("appeal_success_rightful", preset.appeals.success_rate_rightful);
  setLimit($("appeal_success_rightful"), lim.appeal_success_rightful);
  for (const [name, on] of Object.entries(preset.responses)) {
    const box = $(`response-${name}`);
    box.checked = on;
    box.dataset.default = String(on);
  }
  // Without a system (the no-system counterfactual) only the citizens and time matter.
  $("knobs").querySelectorAll("fieldset").forEach((node, i) => { node.disabled = i > 0 && !preset.system; });
  $("no-system-hint").hidden = preset.system;
  markChanges();
  describeA();
}

function gradeLimits() {
  // A grade's floor lies between its neighbours' floors: its limits move with them.
  const inputs = [...$("grades").querySelectorAll("[data-grade]")];
  const policy = state.preset.policy;
  const wide = state.preset.limits.knobs.grade_floor;
  inputs.forEach((input, i) => {
    const above = i > 0 ? Number(inputs[i - 1].value) : null;
    const below = i < inputs.length - 1 ? Number(inputs[i + 1].value) : null;
    const low = below !== null && inputs[i + 1].value !== "" ? below + 1 : wide.min;
    let high = above !== null && inputs[i - 1].value !== "" ? above - 1 : wide.max;
    if (i === inputs.length - 1) high = Math.min(high, policy.minimum);
    setLimit(input, { min: low, max: high, min_open: false, max_open: false, integer: true });
    input.dataset.why = i === inputs.length - 1 ? `the lowest grade starts at or below the lowest score, ${policy.minimum}, so that every score has a grade` :
      "a grade's floor lies below the grade above it and above the grade below";
    const shown = input.parentNode.querySelector(".limit");
    shown.textContent = i === 0 ? `above ${fmtLimit(low - 1)}` : i === inputs.length - 1 ? `at most ${fmtLimit(high)}` : `${fmtLimit(low)} to ${fmtLimit(high)}`;
  });
}

function setValue(id, value) {
  const node = $(id);
  node.value = value;
  node.dataset.default = value;
}

function changed(node) {
  if (node.type === "checkbox") return String(node.checked) !== node.dataset.default;
  if (node.tagName === "SELECT") return node.value !== node.dataset.default;
  if (node.value === "") return false;
  return Number(node.value) !== Number(node.dataset.default);
}

function knobs() {
  // Only what differs from the preset: the run records exactly what was changed.
  const out = {};
  const form = $("knobs");
  const number = (id) => Number($(id).value);
  if (changed($("camera_density"))) out.camera_density = number("camera_density");
  for (const node of form.querySelectorAll("[data-region]")) {
    if (changed(node)) (out.camera_density_by_region ||= {})[node.dataset.region] = Number(node.value);
  }
  if (changed($("fpir"))) out.fpir = number("fpir");
  for (const node of form.querySelectorAll("[data-group]")) {
    if (changed(node)) (out.fpir_multiplier_by_group ||= {})[node.dataset.group] = Number(node.value);
  }
  if (changed($("informant_false_share"))) out.informant_false_share = number("informant_false_share");
  for (const node of form.querySelectorAll("[data-grade]")) {
    if (changed(node)) (out.grade_floors ||= {})[node.dataset.grade] = Number(node.value);
  }
  for (const node of form.querySelectorAll("[data-trigger]")) {
    if (changed(node)) (out.trigger_grades ||= {})[node.dataset.trigger] = node.value;
  }
  for (const node of form.querySelectorAll("[data-duration]")) {
    if (changed(node)) (out.sanction_durations ||= {})[node.dataset.duration] = Number(node.value);
  }
  if (changed($("appeals"))) out.appeals = $("appeals").checked;
  if (changed($("appeal_success_wrongful"))) out.appeal_success_wrongful = number("appeal_success_wrongful");
  if (changed($("appeal_success_rightful"))) out.appeal_success_rightful = number("appeal_success_rightful");
  for (const name of RESPONSES) {
    const box = $(`response-${name}`);
    if (changed(box)) (out.responses ||= {})[name] = box.checked;
  }
  return out;
}

function knobNode(path) {
  // The input of a request field (`knobs.fpir_multiplier_by_group.minority-b`), or null.
  const parts = path.split(".");
  if (parts[0] === "a" || parts[0] === "b") parts.shift();
  if (parts.length === 1 && ["population", "years", "seed", "preset"].includes(parts[0])) return $(parts[0]);
  if (parts[0] !== "knobs") return null;
  const [, knob, ...rest] = parts;
  const key = rest.join(".");
  const form = $("knobs");
  const pick = (attr) => (key ? form.querySelector(`[${attr}="${CSS.escape(key)}"]`) : form.querySelector(`[${attr}]`));
  const by = {
    camera_density_by_region: () => pick("data-region"), fpir_multiplier_by_group: () => pick("data-group"),
    grade_floors: () => pick("data-grade"), trigger_grades: () => pick("data-trigger"),
    sanction_durations: () => pick("data-duration"), responses: () => $(`response-${key || "enabled"}`),
  };
  if (by[knob]) return by[knob]();
  return $(knob) || null;
}

function applyKnobs(k) {
  // Put a run's knobs back on the form (from the URL or a past run's settings).
  const form = $("knobs");
  const put = (node, value) => {
    if (!node) return;
    if (node.type === "checkbox") node.checked = Boolean(value); else node.value = value;
  };
  const each = (object, attr) => Object.entries(object || {}).forEach(([name, value]) =>
    put(form.querySelector(`[${attr}="${CSS.escape(name)}"]`), value));
  for (const id of ["camera_density", "fpir", "informant_false_share", "appeal_success_wrongful", "appeal_success_rightful"]) {
    if (k[id] !== undefined) put($(id), k[id]);
  }
  if (k.appeals !== undefined) put($("appeals"), k.appeals);
  each(k.camera_density_by_region, "data-region");
  each(k.fpir_multiplier_by_group, "data-group");
  each(k.grade_floors, "data-grade");
  each(k.trigger_grades, "data-trigger");
  each(k.sanction_durations, "data-duration");
  for (const [name, on] of Object.entries(k.responses || {})) put($(`response-${name}`), on);
}

function countKnobs(value) {
  return Object.values(value).reduce((n, v) => n + (typeof v === "object" ? Object.keys(v).length : 1), 0);
}

function runRequest() {
  return {
    preset: $("preset").value,
    population: Math.round(Number($("population").value)),
    years: Number($("years").value),
    seed: Math.round(Number($("seed").value)),
    knobs: knobs(),
  };
}

// ---------------------------------------------------------------------- settings in the URL

function runQuery() {
  // The settings in the URL of the Run page; on another page, those this tab last had.
  const hash = location.hash.replace(/^#/, "");
  const [path, query] = hash.split("?");
  if (path === "" || path === "/") return new URLSearchParams(query || "");
  return new URLSearchParams(sessionStorage.getItem("creditsim.settings") || "");
}

function settingsQuery(request, job, from) {
  const source = from || { population: $("population").value, years: $("years").value, seed: $("seed").value };
  const query = new URLSearchParams({ preset: request.preset, population: source.population, years: source.years, seed: source.seed });
  if (Object.keys(request.knobs).length) query.set("knobs", JSON.stringify(request.knobs));
  if (job) query.set("job", job);
  return query;
}

function saveSettings() {
  // The page's settings (and a run under way) in the URL: a reload or a shared link restores them.
  if (!state.preset) return;
  const query = settingsQuery(runRequest(), state.runJob);
  sessionStorage.setItem("creditsim.settings", query.toString());  // for a reload on another page
  if (!$("page-run").hidden) history.replaceState(null, "", `#/?${query}`);
}

async function openRunPage() {
  // A link with settings (from a past run, or shared) puts them on the form; otherwise the form
  // keeps what it has and the URL says so.
  const query = runQuery();
  const differs = query.toString() !== settingsQuery(runRequest(), state.runJob).toString();
  if (query.has("preset") && !state.runJob && state.preset && differs) {
    const name = state.presets.some((p) => p.name === query.get("preset")) ? query.get("preset") : state.preset.name;
    $("preset").value = name;
    await loadPreset(name);
    applyQuery(query);
  }
  saveSettings();
}

function applyQuery(query) {
  for (const id of ["population", "years", "seed"]) if (query.has(id)) $(id).value = query.get(id);
  if (query.has("knobs")) {
    try { applyKnobs(JSON.parse(query.get("knobs"))); } catch (error) { /* a link cut short: keep the preset's */ }
  }
  gradeLimits();
  markChanges();
  timeHint();
}

function markChanges() {
  for (const node of $("knobs").querySelectorAll("[data-default]")) node.classList.toggle("changed", changed(node));
  const count = countKnobs(knobs());
  $("changes").textContent = count ? `${plural(count, "knob")} changed from the preset (marked in blue).` : "Every knob is at the preset's value.";
  describeA();
  saveSettings();
}

function describeA() {
  if (!$("compare-a")) return;
  const request = runRequest();
  const count = countKnobs(request.knobs);
  $("compare-a").textContent = `${request.preset}${count ? `, with ${plural(count, "knob")} changed on the Run page` : " as it is (change knobs on the Run page)"}, ${Number(request.population).toLocaleString("en")} citizens, ${request.years} year${request.years === 1 ? "" : "s"}, from seed ${request.seed}`;
}

async function timeHint() {
  // How long a run takes here, measured from the runs this machine has made, not a constant.
  const node = $("population-hint");
  if (!state.timings) {
    state.timings = api("/api/runs?limit=100").then((runs) => runs
      .filter((r) => r.seconds > 0 && r.population > 0 && r.years > 0)
      .map((r) => r.seconds / (r.population * r.years))).catch(() => []);
  }
  const rates = (await state.timings).slice().sort((a, b) => a - b);
  const cap = Number($("population").max).toLocaleString("en");
  if (!rates.length) {
    node.textContent = `Up to ${cap} citizens here. No run has been timed on this machine yet: the first one will tell how long a run takes.`;
    return;
  }
  const median = rates[Math.floor(rates.length / 2)];
  const size = Number($("population").value) * Number($("years").value);
  const seconds = median * size;
  const guess = !(seconds > 0) ? "" : seconds < 1 ? " about a second" : ` about ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  node.textContent = `Up to ${cap} citizens here. Measured on this machine (${plural(rates.length, "past run")}): ${(median * 1e5).toFixed(2)} s per 100,000 citizen-years${guess ? `, so this run should take${guess} once started` : ""}.`;
}

// ---------------------------------------------------------------------- errors at the field

function clearFieldErrors() {
  for (const node of document.querySelectorAll("#knobs .field-error")) node.remove();
  for (const node of document.querySelectorAll("#knobs [aria-invalid]")) node.removeAttribute("aria-invalid");
}

function nameOf(node) {
  if (PLAIN[node.id]) return PLAIN[node.id];
  return node.getAttribute("aria-label") || node.id || "this setting";
}

function markField(node, message) {
  // Mark the field, say what is wrong beside it, and bring it into view.
  node.setAttribute("aria-invalid", "true");
  const id = `error-${node.id || node.dataset.key || Math.random().toString(36).slice(2)}`;
  const shown = h("span", { class: "field-error", id, role: "alert", text: message });
  const after = node.parentNode.querySelector(".limit") || node;
  after.insertAdjacentElement("afterend", shown);
  node.setAttribute("aria-describedby", id);
  const details = node.closest("details");
  if (details) details.open = true;
  return shown;
}

function checkField(node) {
  // The plain-words problem with one field's value, or null.
  const d = node.dataset;
  if (d.min === undefined) return null;
  const limit = { min: Number(d.min), max: Number(d.max), min_open: d.minOpen === "true", max_open: d.maxOpen === "true", integer: d.integer === "true" };
  const range = limitWords(limit);
  const text = node.value.trim();
  if (text === "") return node.validity && node.validity.badInput ? `This is not a number: enter a number from ${range}.` : `This field is empty: enter a number from ${range}.`;
  const value = Number(text);
  if (!Number.isFinite(value)) return `${text} is not a number: enter a number from ${range}.`;
  if (limit.integer && !Number.isInteger(value)) return `Enter a whole number (you entered ${text}).`;
  const why = d.why ? ` (${d.why})` : "";
  if (limit.max_open ? value >= limit.max : value > limit.max) return `${limit.max_open ? "It must be under" : "The most it can be is"} ${fmtLimit(limit.max)}${why}; you entered ${text}.`;
  if (limit.min_open ? value <= limit.min : value < limit.min) return `${limit.min_open ? "It must be more than" : "The least it can be is"} ${fmtLimit(limit.min)}${why}; you entered ${text}.`;
  return null;
}

function checkForm() {
  clearFieldErrors();
  gradeLimits();
  const problems = [];
  for (const node of $("knobs").querySelectorAll("input[type=number]")) {
    if (node.closest("fieldset:disabled")) continue;
    const message = checkField(node);
    if (message) problems.push([node, message]);
  }
  return problems;
}

function plainServerMessage(message) {
  // The server names fields as a program would; a reader gets the reason in words.
  let text = message.replace(/^field `[^`]+`( \((the|with the) scenario's `[^`]+`\))?: /, "");
  text = text.replace(/`([^`]+)`/g, (all, name) => name.split(/[.[\]]/).filter(Boolean).pop().replace(/_/g, " "));
  text = text.replace(/^Input should be/, "It must be").replace(/\(got ([^)]*)\)/, "(you entered $1)");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function showProblems(problems) {
  const [first] = problems;
  problems.forEach(([node, message]) => markField(node, message));
  const names = problems.slice(0, 3).map(([node]) => nameOf(node)).join("; ");
  showError("run-error", problems.length === 1 ? `One setting needs a change before this can run: ${names} (marked in the form).` :
    `${problems.length} settings need a change before this can run: ${names}${problems.length > 3 ? " …" : ""} (marked in the form).`);
  first[0].scrollIntoView({ block: "center" });
  first[0].focus({ preventScroll: true });
}

// ------------------------------------------------------------------------------- running

async function submitRun(event) {
  event.preventDefault();
  if (state.runJob || $("run-button").disabled) return;
  $("run-button").disabled = true;  // at once: a second click does not make a second run
  showError("run-error", null);
  const problems = checkForm();
  if (problems.length) {
    $("run-button").disabled = false;
    showProblems(problems);
    return;
  }
  let job;
  try {
    job = await api("/api/runs", { body: runRequest() });
  } catch (error) {
    $("run-button").disabled = false;
    const match = /^field `([^`]+)`/.exec(error.message);
    const node = match && error.status === 422 ? knobNode(match[1]) : null;
    if (node) showProblems([[node, plainServerMessage(error.message)]]);
    else showError("run-error", error.status === 422 ? plainServerMessage(error.message) : error.message);
    return;
  }
  followRun(job);
}

function followRun(job) {
  state.runJob = job.id;
  sessionStorage.setItem("creditsim.runJob", job.id);
  saveSettings();
  $("run-button").disabled = true;
  $("run-status").hidden = false;
  $("cancel-button").hidden = false;
  $("cancel-button").disabled = false;
  // The Run button sits at the foot of a long form: bring the progress bar and result into view.
  if ($("run-status").getBoundingClientRect().top < 0) $("run-status").scrollIntoView({ block: "start" });
  watch(job, "run", async (done) => {
    $("run-button").disabled = false;
    $("run-status").hidden = true;
    sessionStorage.removeItem("creditsim.runJob");
    saveSettings();
    state.timings = null;
    timeHint();
    if (done.state === "done") {
      state.lastRun = done.result.run;
      const view = await api(`/api/runs/${done.result.run}`);
      renderRun($("run-result"), view, true);
      if ($("run-result").getBoundingClientRect().top < 0) $("run-result").scrollIntoView({ block: "start" });
    } else if (done.state === "cancelled") {
      showError("run-error", done.error && !done.error.startsWith("cancelled:") ? done.error : "Cancelled: the run was stopped and nothing was kept.");
    } else {
      showError("run-error", done.error || done.state);
    }
  });
}

async function reattach() {
  // A run under way when the page was reloaded (or left and come back to): follow it again.
  const id = runQuery().get("job") || sessionStorage.getItem("creditsim.runJob");
  if (!id || state.runJob) return;
  let job;
  try {
    job = await api(`/api/jobs/${encodeURIComponent(id)}`);
  } catch (error) {
    sessionStorage.removeItem("creditsim.runJob");
    saveSettings();
    if (error.status === 404) showError("run-error", "The run started before this page was reloaded is no longer known to the dashboard (it was restarted): look for it under Past runs.");
    return;
  }
  if (job.kind === "run") followRun(job);
}

function progressWords(now) {
  const p = now.progress;
  if (now.state === "queued") {
    return now.ahead ? `waiting for ${plural(now.ahead, "run")} ahead of it to finish` : "starting…";
  }
  const time = now.elapsed_seconds !== null ? ` (${now.elapsed_seconds.toFixed(1)} s)` : "";
  return `${now.state === "running" ? "running" : now.state}: ${p.label}${time}`;
}

function watch(job, prefix, finished) {
  // Poll the job twice a second; a job nobody polls is cancelled by the server after a while.
  const label = $(`${prefix}-label`);
  const bar = $(`${prefix}-progress`);
  const key = prefix === "run" ? "runJob" : "compareJob";
  const tick = async () => {
    if (state[key] !== job.id) return;
    let now;
    try {
      now = await api(`/api/jobs/${job.id}`);
    } catch (error) {
      state[key] = null;
      finished({ state: "failed", error: error.message });
      return;
    }
    label.textContent = progressWords(now);
    if (now.state === "queued") bar.removeAttribute("value"); else bar.value = now.progress.fraction;
    if (["done", "failed", "cancelled"].includes(now.state)) {
      state[key] = null;
      finished(now);
      return;
    }
    setTimeout(tick, POLL_MS);
  };
  tick();
}

async function cancelJob(key, prefix) {
  const id = state[key];
  if (!id) return;
  const button = prefix === "run" ? $("cancel-button") : $("compare-cancel");
  button.hidden = true;  // one press; the message comes when the job has stopped
  $(`${prefix}-label`).textContent = "cancelling…";
  try { await api(`/api/jobs/${id}`, { method: "DELETE" }); } catch (error) { /* already over */ }
}

// ------------------------------------------------------------------------------ a run's result

function renderRun(container, view, fresh) {
  const parts = [];
  const links = h("div", { class: "links" },
    view.files ? h("a", { class: "strong", href: `#/blacklist/${view.id}`, id: "open-blacklist" }, "The public blacklist") : null,
    view.files ? h("a", { href: `/runs/${view.id}/report`, target: "_blank", rel: "noopener" }, "Report for a reader (HTML)") : null,
    view.files ? h("a", { href: `/api/runs/${view.id}/audit`, target: "_blank", rel: "noopener" }, "Whole audit (JSON)") : null,
    fresh ? h("a", { href: `#/runs/${view.id}` }, "Open as a page") : null);
  parts.push(h("div", { class: "result-head" },
    h(fresh ? "h2" : "h1", { id: "result-title", title: `catalogue id ${view.id}`, "data-id": view.id }, `Run ${view.number ?? view.id}: ${view.scenario}`), links));
  parts.push(h("p", { class: "hint" },
    `${Number(view.population).toLocaleString("en")} synthetic citizens over ${view.years === 1 ? "one year" : `${view.years} years`} (${view.days} days), seed ${view.seed}; simulated in ${Number(view.seconds).toFixed(2)} s; recorded ${view.created_at.slice(0, 19)} UTC.`));
  parts.push(settingsLine(view.settings, view));
  if (view.note) parts.push(h("p", { class: "note", text: view.note }));
  if (view.files && view.has_findings) parts.push(findings(view.id));
  if (!view.files) {
    parts.push(table("Headline numbers recorded in the catalogue", ["measure", "value"],
      Object.entries(view.summary).map(([k, v]) => ({ cells: [k, String(v)] })), [1]));
    fill(container, parts);
    return;
  }
  parts.push(h("ul", { class: "cards", id: "cards", "aria-label": "headline numbers" },
    view.cards.map((c) => h("li", { class: c.alert ? "alert" : null, "data-key": c.key, "data-value": JSON.stringify(c.value) },
      h("span", { class: "value", text: c.text }), h("span", { class: "what", text: c.what }),
      c.more ? h("span", { class: "more", text: c.more }) : null))));
  parts.push(secretRanges(view.secret));
  if (view.sanctions.length) {
    parts.push(table("Each sanction and reward (purchases denied: flight and train tickets; in brackets at 1.4 billion citizens)",
      ["sanction", "kind", "reaches", "citizens", "wrongfully", "wrongful share", "purchases denied"],
      view.sanctions.map((s) => ({
        cells: [s.label, s.kind, s.reach, s.text.sanctioned, s.text.wrongful, s.text.wrongful_share, s.text.denied],
        keys: [null, null, null, `${s.name}.sanctioned`, `${s.name}.wrongful`, null, null],
        dataset: { sanction: s.name },
      })), [3, 4, 5, 6], { id: "sanctions-table" }));
  } else {
    parts.push(h("p", { text: "This scenario imposes no sanction." }));
  }
  if (view.lists.length) {
    parts.push(table("Each list: citizens listed at some time", ["list", "citizens listed", "wrongfully", "still listed at the end"],
      view.lists.map((l) => ({ cells: [l.label, l.text.listed, l.text.wrongful, l.text.still] })), [1, 2, 3], { compact: true }));
  }
  if (view.groups.length) {
    parts.push(table("Any sanction by group (disparate impact: the group's rate over the reference group's; outside 0.8 to 1.25 it is flagged)",
      ["group", "citizens", "sanction rate", "wrongfully", "disparate impact", "95% interval", "in words", ""],
      view.groups.map((g) => ({
        cells: [[g.group, view.has_case ? caseLinks(view.id, (view.examples || {})[g.group] || []) : null], g.text.citizens, g.text.sanction_rate, g.text.wrongful, g.text.disparate_impact, g.text.interval, g.text.in_words || "",
          g.significant ? h("span", { class: "badge sig", text: "flagged, significant" }) : g.flagged ? h("span", { class: "badge wrong", text: "flagged" }) : ""],
        class: g.flagged ? "flag" : null,
        dataset: { group: g.group },
      })), [1, 2, 3, 4, 5], { compact: true, id: "groups-table" }));
  }
  if (view.causes.length) {
    parts.push(table("Why innocent citizens were recorded and sanctioned", ["cause", "wrongful records", "citizens sanctioned wrongfully (any sanction)"],
      view.causes.map((c) => ({ cells: [c.words, c.text.records, c.text.sanctioned] })), [1, 2], { compact: true }));
  }
  parts.push(plots(view));
  if (view.mechanisms && view.mechanisms.length) {
    parts.push(h("details", {}, h("summary", { text: "What was switched on in this scenario" }),
      h("ul", {}, view.mechanisms.map((m) => h("li", { text: m })))));
  }
  fill(container, parts);
}

function settingsLine(settings, view) {
  if (view && view.parent) {
    return h("p", { class: "hint", id: "run-origin" }, `Made by `, h("a", { href: `#/compares/${view.parent}`, text: `comparison ${view.parent_number ?? view.parent}` }),
      " (one side of it, one seed); its settings are shown there.");
  }
  if (!settings) return h("p", { class: "hint", id: "run-origin", text: "Made outside the dashboard (with creditsim run or the Python API)." });
  const paths = Object.entries(settings.paths || {});
  const again = h("a", { href: `#/?${settingsQuery({ preset: settings.preset, knobs: settings.knobs || {} }, null, settings)}`, id: "run-again", text: "Open these settings on the Run page" });
  if (!paths.length) return h("p", { class: "hint", id: "run-origin" }, `Made on the dashboard: the ${settings.preset} preset as it is. `, again);
  const count = countKnobs(settings.knobs || {});
  return h("details", { class: "settings", id: "run-origin" }, h("summary", { text: `Made on the dashboard: the ${settings.preset} preset with ${plural(count, "knob")} changed (${plural(paths.length, "scenario field")})` }),
    knobTable(settings.knobs || {}), h("p", {}, again));
}

function knobWords(knobs) {
  // A run's knobs as a reader reads them: [name, value] pairs.
  const out = [];
  const named = { camera_density: "camera density ×", fpir: "false match rate (FPIR)", informant_false_share: "share of false informant reports",
    appeals: "citizens appeal", appeal_success_wrongful: "appeals won against a wrongful sanction", appeal_success_rightful: "appeals won against a deserved sanction" };
  const groups = { camera_density_by_region: (k) => `camera density × in ${k}`, fpir_multiplier_by_group: (k) => `false matches × for group ${k}`,
    grade_floors: (k) => `lowest score of grade ${k}`, trigger_grades: (k) => `grade that triggers ${k.replace(/_/g, " ")}`,
    sanction_durations: (k) => `days of ${k.replace(/_/g, " ")}`, responses: (k) => (k === "enabled" ? "any response at all" : `response: ${k.replace(/_/g, " ")}`) };
  for (const [key, value] of Object.entries(knobs || {})) {
    if (groups[key]) for (const [k, v] of Object.entries(value)) out.push([groups[key](k), v]);
    else out.push([named[key] || key.replace(/_/g, " "), value]);
  }
  return out.map(([name, value]) => [name, typeof value === "boolean" ? (value ? "on" : "off") : String(value)]);
}

function knobTable(knobs, caption) {
  const rows = knobWords(knobs);
  if (!rows.length) return h("p", { class: "hint", text: "Every knob at the preset's value." });
  return table(caption || null, ["knob", "value"], rows.map(([k, v]) => ({ cells: [k, v] })), [1], { compact: true });
}

function caseLinks(run, citizens) {
  // Case files open in the same tab: plain pages the server writes for one synthetic citizen.
  if (!citizens.length) return null;
  return h("span", { class: "cases" }, "case files of some listed wrongfully: ",
    citizens.flatMap((c, i) => [i ? ", " : "", h("a", { href: `/runs/${run}/case/${c}`, class: "case", text: `no. ${c}` })]));
}

function findings(run) {
  // What was found, first, in plain words (served by the findings route; absent: nothing shown).
  const box = h("section", { id: "findings", class: "findings", hidden: true, "aria-label": "what was found" });
  api(`/api/runs/${run}/findings`).then((data) => {
    const items = (data && data.findings) || [];
    if (!items.length) return;
    box.replaceChildren(h("h3", { text: "What was found" }),
      h("ul", {}, items.map((f) => h("li", {}, h("strong", { text: f.title }), " ", f.text))));
    box.hidden = false;
  }).catch(() => { /* no findings for this run yet: nothing to show */ });
  return box;
}

function plots(view) {
  // One plot at a time: a loading sign while the server draws it (the first time takes seconds),
  // and the caption changed together with the image, when it has arrived.
  const img = h("img", { alt: "", id: "plot-image", width: 720, height: 400 });
  const loading = h("p", { class: "loading", id: "plot-loading", role: "status", hidden: true });
  const caption = h("figcaption", { id: "plot-caption" });
  const full = h("a", { id: "plot-full", target: "_blank", rel: "noopener", class: "hint", text: "Open the plot full size" });
  const figure = h("figure", { class: "plot" }, loading, h("div", { class: "plot-box" }, img), caption, full);
  let current = null;
  const show = (plot) => {
    for (const button of tabs.querySelectorAll("button")) button.setAttribute("aria-selected", String(button.dataset.kind === plot.kind));
    // On a phone the sanctions' small multiples come in one tall column; the other plots keep
    // their size and scroll sideways in their box.
    const narrow = NARROW_PLOTS.includes(plot.kind) && window.matchMedia("(max-width: 600px)").matches;
    const source = `/api/runs/${view.id}/plots/${plot.kind}.svg${narrow ? "?layout=narrow" : ""}`;
    const again = (n) => `${source}${narrow ? "&" : "?"}try=${n}`;
    current = plot.kind;
    let tries = 0;
    figure.setAttribute("aria-busy", "true");
    figure.dataset.kind = plot.kind;
    loading.textContent = `Drawing the plot “${plot.title}”… (the first time takes a few seconds)`;
    loading.hidden = false;
    img.classList.add("stale");
    const next = new Image();
    // The server draws a few plots at a time and asks the rest to come back (503): try again.
    next.onerror = () => {
      if (current !== plot.kind) return;
      if (tries >= 5) { loading.textContent = `${plot.title}: the plot could not be drawn; reload the page to try again.`; return; }
      tries += 1;
      loading.textContent = `${plot.title}: the server is busy drawing plots; trying again…`;
      setTimeout(() => { next.src = again(tries); }, 2000 * tries);
    };
    next.onload = () => {
      if (current !== plot.kind) return;  // another tab was chosen meanwhile
      img.removeAttribute("width"); img.removeAttribute("height");
      img.src = next.src;
      img.classList.toggle("narrow", narrow);
      img.alt = `Plot: ${plot.what}`;
      img.classList.remove("stale");
      caption.textContent = `${plot.title}: ${plot.what}.`;
      full.href = source;
      loading.hidden = true;
      figure.setAttribute("aria-busy", "false");
    };
    next.src = source;
  };
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "plots" },
    view.plots.map((plot) => h("button", { type: "button", role: "tab", "data-kind": plot.kind, onclick: () => show(plot) }, plot.title)));
  const box = h("div", { id: "plots" }, h("h3", { text: "Plots" }), tabs, figure);
  show(view.plots[0]);
  return box;
}

// ---------------------------------------------------------------------------------- past runs

async function loadRuns() {
  const [runs, compares] = await Promise.all([api("/api/runs?limit=500"), api("/api/compares?limit=200")]);
  state.past = { runs, compares };
  showPast();
}

function pastFrom(r) {
  return r.parent ? `comparison ${r.parent}` : r.dashboard ? "dashboard" : "command line";
}

function pastMatches(r, words, from) {
  // The filter: every word found in the entry's id, label, scenario, date or origin.
  if (from && (r.kind === "compare" ? "dashboard" : pastFrom(r).split(" ")[0]) !== from) return false;
  const text = [entryName(r), `id ${r.id}`, r.label || "", r.scenario || "", r.created_at, r.kind === "compare" ? "" : pastFrom(r), `seed ${r.seed}`].join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}

function pastActions(r) {
  // Label anything; delete only what this dashboard made (the server refuses the rest).
  const kind = r.kind === "compare" ? "compares" : "runs";
  const what = entryName(r);
  const label = h("button", { type: "button", class: "small", "data-action": "label", onclick: async (e) => {
    e.stopPropagation();
    const text = window.prompt(`A label for ${what} (empty: none)`, r.label || "");
    if (text === null) return;
    try { await api(`/api/${kind}/${r.id}`, { method: "PATCH", body: { label: text.slice(0, 80) } }); await loadRuns(); } catch (error) { showError("past-error", error); }
  } }, "Label");
  const made = r.kind === "compare" ? r.dashboard : r.dashboard && !r.parent;
  const remove = made ? h("button", { type: "button", class: "small danger", "data-action": "delete", onclick: async (e) => {
    e.stopPropagation();
    if (!window.confirm(`Delete ${what}${r.kind === "compare" ? " and its runs" : ""}? Its files are removed; this cannot be undone.`)) return;
    try { await api(`/api/${kind}/${r.id}`, { method: "DELETE" }); await loadRuns(); } catch (error) { showError("past-error", error); }
  } }, "Delete") : null;
  return h("td", { class: "actions-cell" }, label, " ", remove);
}

function showPast() {
  const { runs, compares } = state.past || { runs: [], compares: [] };
  const words = $("past-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const from = $("past-from").value;
  const shownRuns = runs.filter((r) => pastMatches(r, words, from));
  const shownCompares = compares.filter((c) => pastMatches(c, words, from === "comparison" ? "" : from));
  $("past-count").textContent = `${plural(shownRuns.length, "run")} of ${runs.length}, ${plural(shownCompares.length, "comparison")} of ${compares.length}${words.length || from ? " match the filter" : ""}.`;
  const body = $("runs-table").tBodies[0];
  const labelled = (r, text) => [h("a", { href: `#/${r.kind === "compare" ? "compares" : "runs"}/${r.id}`, text, title: `catalogue id ${r.id} (creditsim runs show ${r.id})` }), r.label ? h("span", { class: "label", text: r.label }) : null];
  if (!shownRuns.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 10, text: runs.length ? "No run matches the filter." : "No runs yet: make one on the Run page." })));
  } else {
    body.replaceChildren(...shownRuns.map((r) => h("tr", { class: "link", tabindex: 0, "data-run": r.id,
      onclick: (e) => { if (!e.target.closest("button, a")) location.hash = `#/runs/${r.id}`; },
      onkeydown: (e) => { if (e.key === "Enter" && !e.target.closest("button")) location.hash = `#/runs/${r.id}`; } },
      h("th", { scope: "row" }, labelled(r, entryName(r))),
      h("td", { text: r.created_at }), h("td", { text: r.scenario + (r.knobs ? ` (${plural(r.knobs, "knob")} changed)` : "") }),
      h("td", { class: "num", text: r.text.population }), h("td", { class: "num", text: num(r.years) }),
      h("td", { class: "num", text: num(r.seed) }), h("td", { class: "num", text: r.text.sanctioned }),
      h("td", { class: "num", text: r.text.wrongfully_sanctioned }),
      h("td", { text: pastFrom(r) }), pastActions(r))));
  }
  const cbody = $("compares-table").tBodies[0];
  cbody.replaceChildren(...(shownCompares.length ? shownCompares.map((c) => h("tr", { class: "link", "data-compare": c.id, onclick: (e) => { if (!e.target.closest("button, a")) location.hash = `#/compares/${c.id}`; } },
    h("th", { scope: "row" }, labelled(c, entryName(c))),
    h("td", { text: c.created_at }), h("td", { text: c.scenario + (c.knobs ? ` (${plural(c.knobs, "knob")} changed)` : "") }), h("td", { class: "num", text: c.text.population }),
    h("td", { class: "num", text: num(c.years) }), h("td", { text: c.status }), pastActions(c))) :
    [h("tr", {}, h("td", { colspan: 7, text: compares.length ? "No comparison matches the filter." : "No comparisons yet." }))]));
}

async function loadRunView(id) {
  const body = $("view-body");
  body.replaceChildren(h("p", { class: "hint", text: `Opening run ${id}…` }));
  try {
    const view = await api(`/api/runs/${encodeURIComponent(id)}`);
    renderRun(body, view, false);
  } catch (error) {
    body.replaceChildren(h("h1", { text: `Run ${id}` }), h("p", { class: "alert", role: "alert", text: error.message }));
  }
}

// ------------------------------------------------------------------------------------ compare

async function loadComparePage() {
  describeA();
  const waiting = sessionStorage.getItem("creditsim.compareJob");
  if (waiting && !state.compareJob) {
    api(`/api/jobs/${encodeURIComponent(waiting)}`).then((job) => { if (job.kind === "compare") followCompare(job); })
      .catch(() => sessionStorage.removeItem("creditsim.compareJob"));
  }
  const runs = await api("/api/runs?limit=200");
  const options = runs.filter((r) => r.files).map((r) =>
    h("option", { value: r.id, text: `run ${r.id}: ${r.scenario}, ${r.text.population} citizens, seed ${r.seed}` }));
  const a = $("pick-a"), b = $("pick-b");
  const keepA = a.value, keepB = b.value;
  a.replaceChildren(...options.map((o) => o.cloneNode(true)));
  b.replaceChildren(...options);
  if (keepA) a.value = keepA; else if (runs.length > 1) a.value = String(runs.filter((r) => r.files)[1]?.id ?? "");
  if (keepB) b.value = keepB;
  $("pick-button").disabled = options.length < 2;
  if (options.length < 2) showError("pick-error", `Side by side needs two runs with their files; ${options.length ? "there is one so far" : "there are none yet"}: make them on the Run page, or with a paired comparison (its runs count).`);
  else showError("pick-error", null);
}

async function submitCompare(event) {
  event.preventDefault();
  if (state.compareJob || $("compare-button").disabled) return;
  $("compare-button").disabled = true;  // at once: a second click does not make a second comparison
  showError("compare-error", null);
  const run = runRequest();
  const request = {
    a: { preset: $("compare-b").value || run.preset, knobs: {} },
    b: { preset: run.preset, knobs: run.knobs },
    population: run.population, years: run.years, seed: run.seed,
    seeds: Math.round(Number($("compare-seeds").value)),
  };
  let job;
  try {
    job = await api("/api/compare", { body: request });
  } catch (error) {
    $("compare-button").disabled = false;
    showError("compare-error", error.status === 422 ? plainServerMessage(error.message) : error);
    return;
  }
  followCompare(job);
}

function followCompare(job) {
  // Kept for this tab: a reload or a return to Compare finds the comparison under way again.
  state.compareJob = job.id;
  sessionStorage.setItem("creditsim.compareJob", job.id);
  $("compare-button").disabled = true;
  $("compare-status").hidden = false;
  $("compare-cancel").hidden = false;
  watch(job, "compare", async (done) => {
    sessionStorage.removeItem("creditsim.compareJob");
    $("compare-button").disabled = false;
    $("compare-status").hidden = true;
    if (done.state === "done") {
      const view = await api(`/api/compares/${done.result.compare}`);
      renderCompare($("compare-result"), view);
      loadComparePage().catch(() => {});  // its runs can now be set side by side
    } else if (done.state === "cancelled") {
      showError("compare-error", "Cancelled: the comparison was stopped and nothing was kept.");
    } else {
      showError("compare-error", done.error || done.state);
    }
  });
}

async function submitPick(event) {
  event.preventDefault();
  showError("pick-error", null);
  try {
    const view = await api(`/api/compare-runs?a=${$("pick-a").value}&b=${$("pick-b").value}`);
    renderSideBySide($("compare-result"), view);
  } catch (error) {
    showError("pick-error", error);
  }
}

function compareTable(rows, labelA, labelB, withInterval) {
  const headline = rows.filter((r) => r.headline);
  const rest = rows.filter((r) => !r.headline);
  const shape = (r) => ({
    cells: [r.words, r.text.a, r.text.b, r.text.difference].concat(withInterval ? [r.text.interval || "—",
      r.significant === null ? "" : r.significant ? h("span", { class: "badge sig", text: "yes" }) : "no"] : []),
    dataset: { metric: r.metric },
  });
  const header = ["measure", labelA, labelB, "B − A"].concat(withInterval ? ["95% interval", "significant"] : []);
  return [
    table("The headline differences", header, headline.map(shape), [1, 2, 3, 4], { id: "compare-headline" }),
    h("details", {}, h("summary", { text: `Every measure (${rest.length} more)` }), table(null, header, rest.map(shape), [1, 2, 3, 4])),
  ];
}

function armWords(arm) {
  // One side of a comparison, as a reader would name it: "national-2018 with 2 knobs changed".
  if (!arm) return null;
  const count = countKnobs(arm.knobs || {});
  return count ? `${arm.preset} with ${plural(count, "knob")} changed` : `${arm.preset} as it is`;
}

function diffPlot(rows) {
  // B − A with its interval, one line per measure, each on its own scale (their units differ):
  // the middle line is no difference; a dot right of it, B is higher.
  const shown = rows.filter((r) => r.difference !== null);
  const width = 320, height = 30, mid = width / 2;
  const lines = shown.map((r) => {
    const [low, high] = r.interval || [r.difference, r.difference];
    const reach = Math.max(Math.abs(low), Math.abs(high), Math.abs(r.difference), 1e-12) * 1.1;
    const x = (v) => mid + (v / reach) * (mid - 10);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "diff-svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `${r.words}: B − A ${r.text.difference}${r.text.interval ? `, 95% interval ${r.text.interval}` : ""}`);
    const add = (tag, attrs) => {
      const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      svg.append(node);
    };
    add("line", { x1: mid, x2: mid, y1: 2, y2: height - 2, class: "zero" });
    if (r.interval) add("line", { x1: x(low), x2: x(high), y1: height / 2, y2: height / 2, class: "whisker" });
    add("circle", { cx: x(r.difference), cy: height / 2, r: 5, class: r.significant ? "dot sig" : "dot" });
    return h("tr", { "data-metric": r.metric }, h("th", { scope: "row", text: r.words }), h("td", { class: "num", text: r.text.difference }),
      h("td", { class: "num", text: r.text.interval || "—" }), h("td", { class: "plotcell" }, svg));
  });
  return h("figure", { id: "compare-plot", class: "diff-plot" },
    h("div", { class: "wide" }, h("table", { class: "compact" }, h("thead", {}, h("tr", {},
      ["measure", "B − A", "95% interval", "B − A (dot) and its interval (line); the middle line is no difference"].map((t, i) => h("th", { scope: "col", class: i === 1 || i === 2 ? "num" : null, text: t })))),
    h("tbody", {}, lines))),
    h("figcaption", { text: "Each measure on its own scale, as their units differ. A dot right of the middle line: B is higher than A; a line that does not cross the middle: the difference is significant (filled dot)." }));
}

function renderCompare(container, view, heading) {
  const settings = view.settings || null;
  const aWords = settings ? armWords(settings.a) : view.a;
  const bWords = settings ? armWords(settings.b) : view.b;
  const title = `Comparison ${view.number ?? view.id}: ${bWords} (B) against ${aWords} (A)`;
  const seeds = view.seeds ? view.seeds.length : 0;
  const knobs = settings ? h("details", { class: "settings", id: "compare-knobs", open: true },
    h("summary", { text: "The settings of A and B" }),
    h("div", { class: "columns even" },
      h("div", {}, h("h4", { text: `A, the baseline: ${aWords}` }), knobTable(settings.a.knobs || {})),
      h("div", {}, h("h4", { text: `B: ${bWords}` }), knobTable(settings.b.knobs || {})))) :
    h("p", { class: "hint", id: "compare-knobs", text: "Made with creditsim compare: A and B are the scenarios named in the title, as they are." });
  fill(container,
    h("div", { class: "result-head" }, h(heading || "h2", { id: "compare-title", text: title, title: `catalogue id ${view.id}`, "data-id": view.id }),
      h("div", { class: "links" }, h("a", { href: `/compares/${view.id}/report`, target: "_blank", rel: "noopener", id: "compare-report" }, "Report for a reader (HTML)"))),
    h("p", { class: "hint", text: `${Number(view.population).toLocaleString("en")} synthetic citizens, ${view.years === 1 ? "one year" : `${view.years} years`}, ${plural(seeds, "seed")}: A and B on the same citizens and chances. Values are means over the seeds (counts rounded to whole citizens); B − A is what B changes, paired seed by seed.` }),
    knobs,
    view.note ? h("p", { class: "note", text: view.note }) : null,
    ...compareTable(view.rows, `A: ${view.a}`, `B: ${view.b}`, seeds > 1),
    h("h3", { text: "What B changes: B − A, with its 95% interval" }),
    seeds > 1 ? diffPlot(view.rows.filter((r) => r.headline)) : h("p", { class: "hint", text: "With one seed there is no interval to draw: compare with 2 or more seeds." }),
    h("p", { class: "hint" }, "Its runs: ", ...(view.children || []).flatMap((id, i) => [i ? ", " : "", h("a", { href: `#/runs/${id}`, text: `run ${id}` })])));
}

function renderSideBySide(container, view) {
  fill(container,
    h("h2", { id: "compare-title", text: `Run ${view.a.id} (A) beside run ${view.b.id} (B)` }),
    view.paired ? h("p", { class: "hint", text: "Paired: the same citizens, years and seed, so B − A is the effect of their settings." }) :
      h("p", { class: "note", text: `Not paired: ${view.why_not_paired}.` }),
    ...compareTable(view.rows, `A: run ${view.a.id} (${view.a.scenario})`, `B: run ${view.b.id} (${view.b.scenario})`, false));
}

async function loadCompareView(id) {
  const body = $("view-body");
  try {
    const view = await api(`/api/compares/${encodeURIComponent(id)}`);
    body.replaceChildren();
    renderCompare(body, view, "h1");
  } catch (error) {
    body.replaceChildren(h("h1", { text: `Comparison ${id}` }), h("p", { class: "alert", role: "alert", text: error.message }));
  }
}

// ---------------------------------------------------------------------------------- blacklist

async function openBlacklist(run) {
  const body = $("blacklist-body");
  if (run === null) {
    const runs = (await api("/api/runs?limit=200")).filter((r) => r.files);
    if (!runs.length) {
      body.replaceChildren(h("h1", { text: "The public blacklist" }), h("p", { text: "No run with files yet: make one on the Run page, then open its blacklist." }));
      return;
    }
    run = (runs.find((r) => r.dashboard) || runs[0]).id;
    history.replaceState(null, "", `#/blacklist/${run}`);
  }
  if (state.blacklist.run !== run) Object.assign(state.blacklist, { run, page: 1, wrongful: false, entry: "", selected: 0, first: false });
  await loadBlacklist();
}

async function loadBlacklist() {
  const b = state.blacklist;
  const body = $("blacklist-body");
  const query = new URLSearchParams({ page: b.page, per_page: 20 });
  if (b.wrongful) query.set("wrongful", "true");
  if (b.entry) query.set("entry", b.entry);
  if (b.first) query.set("order", "wrongful_first");
  let data;
  try {
    data = await api(`/api/runs/${b.run}/blacklist?${query}`);
  } catch (error) {
    body.replaceChildren(h("h1", { text: `The public blacklist of catalogue entry ${b.run}` }),
      h("p", { class: "alert", role: "alert", text: error.message }),
      h("p", {}, h("a", { href: "#/runs", text: "Back to past runs" })));
    return;
  }
  const banner = h("div", { class: "cc-banner" },
    h("div", { class: "cc-site", text: "Credit Listing (simulated)" }),
    h("div", { class: "cc-sub", text: "Public list of dishonest persons subject to enforcement · a mock-up in the style of the Credit China listing" }));
  const warning = h("p", { class: "cc-warning" },
    h("strong", { text: "Simulation. " }),
    `Every person here is synthetic: names are invented from syllables no real name uses, and ID numbers are random digits behind a region code beginning with 9, which no real province has. Dates count from ${data.day_zero} (day 0 of run ${data.number ?? data.run}, ${data.scenario}, ${Number(data.population).toLocaleString("en")} citizens).`);
  const kinds = h("select", { id: "bl-entry", onchange: (e) => { Object.assign(b, { entry: e.target.value, page: 1, selected: 0 }); loadBlacklist(); } },
    h("option", { value: "", text: "every list" }), data.kinds.map((k) => h("option", { value: k.name, text: k.label })));
  kinds.value = b.entry;
  const only = h("input", { type: "checkbox", id: "bl-wrongful", onchange: (e) => { Object.assign(b, { wrongful: e.target.checked, page: 1, selected: 0 }); loadBlacklist(); } });
  only.checked = b.wrongful;
  const first = h("input", { type: "checkbox", id: "bl-first", onchange: (e) => { Object.assign(b, { first: e.target.checked, page: 1, selected: 0 }); loadBlacklist(); } });
  first.checked = b.first;
  const filters = h("div", { class: "cc-filters" },
    h("label", {}, "Show", kinds),
    h("label", {}, only, "only the wrongful entries (what the simulator knows)"),
    h("label", {}, first, "wrongful entries first"),
    h("span", { class: "hint", id: "bl-count", text: `${data.entries_total.toLocaleString("en")} entries of ${data.citizens_total.toLocaleString("en")} citizens, ${data.wrongful_total.toLocaleString("en")} of them wrongful` }));
  const rows = data.rows.map((r, i) => h("tr", { class: `link${i === b.selected ? " selected" : ""}`, tabindex: 0, "data-citizen": r.citizen,
    onclick: () => { b.selected = i; renderDetail(data.rows[i]); markSelected(i); },
    onkeydown: (e) => { if (e.key === "Enter") { b.selected = i; renderDetail(data.rows[i]); markSelected(i); } } },
    h("td", { class: "cc-name" }, data.has_case ? h("a", { href: `/runs/${data.run}/case/${r.citizen}`, class: "case", title: `the case file of ${r.name} (synthetic citizen no. ${r.citizen})`, text: r.name }) : r.name),
    h("td", { class: "cc-id", text: r.id_number }),
    h("td", { text: r.entry_label }),
    h("td", { text: r.reasons.join(", ") || "—" }),
    h("td", { class: "num", text: r.published }),
    h("td", { class: "num", text: r.still_listed ? `${r.until} (still listed)` : r.until }),
    h("td", { class: "cc-sanctions", text: r.sanctions.join(", ") || "—" }),
    h("td", { class: "truth" }, r.truth.wrongful ? h("span", { class: "badge wrong", text: "wrongful" }) : h("span", { class: "badge right", text: "rightful" }),
      r.truth.wrongful && r.truth.causes.length ? h("div", { class: "hint", text: r.truth.causes.map((c) => c.name.replace(/_/g, " ")).join(", ") }) : null)));
  const listing = data.rows.length ? h("div", { class: "wide" }, h("table", { class: "cc", id: "blacklist-table" },
    h("caption", { text: "As the public sees it, and (last column) what only the simulator knows" }),
    h("thead", {}, h("tr", {}, ["Name", "ID number", "List", "Reason", "Published", "Until", "Sanctions"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col", class: "truth", text: "The truth" }))),
    h("tbody", {}, rows))) : h("p", { class: "note", text: b.wrongful ? "No wrongful entry in this list." : "Nobody was listed in this run." });
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", id: "bl-prev", disabled: b.page <= 1, onclick: () => { b.page -= 1; b.selected = 0; loadBlacklist().then(backUp); } }, "← Previous"),
    h("span", { id: "bl-page", text: `page ${data.page} of ${data.pages} (${data.total.toLocaleString("en")} entries shown by this filter)` }),
    h("button", { type: "button", id: "bl-next", disabled: b.page >= data.pages, onclick: () => { b.page += 1; b.selected = 0; loadBlacklist().then(backUp); } }, "Next →"));
  const detail = h("aside", { class: "cc-detail", id: "bl-detail", "aria-live": "polite" });
  fill(body,
    h("h1", { text: `The public blacklist of run ${data.number ?? data.run}`, "data-id": data.run }),
    h("p", { class: "hint" }, "The listing as the people on it, their neighbours and employers would find it; beside it what they cannot know: whether the entry was deserved. ",
      h("a", { href: `#/runs/${data.run}`, text: `Back to run ${data.number ?? data.run}` })),
    banner, filters, warning,
    h("div", { class: "cc-layout" }, h("div", {}, listing, data.rows.length ? pager : null), detail));
  state.blacklist.hasCase = data.has_case;
  if (data.rows.length) renderDetail(data.rows[Math.min(b.selected, data.rows.length - 1)]);
  else detail.hidden = true;
}

function backUp() {
  // A new page of the listing starts at its top, not where the last one ended.
  const top = $("blacklist-table") || $("blacklist-body");
  if (top.getBoundingClientRect().top < 0) top.scrollIntoView({ block: "start" });
}

function markSelected(index) {
  const rows = document.querySelectorAll("#blacklist-table tbody tr");
  rows.forEach((row, i) => row.classList.toggle("selected", i === index));
}

function renderDetail(r) {
  const detail = $("bl-detail");
  const truth = r.truth;
  detail.replaceChildren(
    h("h3", { text: r.name }),
    h("div", { class: "cc-public" },
      h("div", { class: "cc-stamp", text: "DISHONEST PERSON" }),
      h("dl", { class: "facts" },
        h("dt", { text: "ID number" }), h("dd", { class: "cc-id", text: r.id_number }),
        h("dt", { text: "Listed on" }), h("dd", { text: r.entry_label }),
        h("dt", { text: "Reason" }), h("dd", { text: r.reasons.join(", ") || "—" }),
        h("dt", { text: "Published" }), h("dd", { text: `${r.published} (day ${r.start_day})` }),
        h("dt", { text: "Until" }), h("dd", { text: r.still_listed ? `${r.until} (day ${r.end_day}): still listed when the run ended` : `${r.until} (day ${r.end_day})` }),
        h("dt", { text: "Sanctions" }), h("dd", { text: r.sanctions.join(", ") || "—" })),
      r.caller_message ? h("div", { class: "phone", id: "bl-phone" }, h("span", { class: "ring", text: `☎ Phoning ${r.name}, a caller hears:` }), `“${r.caller_message}”`) :
        h("p", { class: "hint", text: "No message plays to callers of this person (not under the caller-message sanction)." })),
    h("div", { class: "cc-known" },
      h("h4", { text: "What the simulator knows, and the person does not" }),
      h("p", {}, truth.wrongful ? h("span", { class: "badge wrong", text: "Wrongful" }) : h("span", { class: "badge right", text: "Rightful" }),
        truth.wrongful ? " Their own true records would not have put them here." : " Their own true records put them here."),
      truth.wrongful && truth.causes.length ? h("ul", {}, truth.causes.map((c) => h("li", { text: c.words }))) : null,
      h("dl", { class: "facts" },
        h("dt", { text: "Region" }), h("dd", { text: truth.region }),
        h("dt", { text: "Group" }), h("dd", { text: truth.group }),
        h("dt", { text: "Age band" }), h("dd", { text: truth.age_band }),
        h("dt", { text: "Income band" }), h("dd", { text: truth.income_band }),
        h("dt", { text: "Household" }), h("dd", { text: `no. ${truth.household}` }),
        h("dt", { text: "Citizen" }), h("dd", { text: `no. ${r.citizen} (synthetic)` })),
      state.blacklist.hasCase ? h("p", {}, h("a", { href: `/runs/${state.blacklist.run}/case/${r.citizen}`, id: "bl-case", text: "Open the case file: the true acts and the records made about them" })) : null));
  detail.hidden = false;
}

// ----------------------------------------------------------------------------------------- go

document.addEventListener("DOMContentLoaded", async () => {
  $("knobs").addEventListener("submit", submitRun);
  $("knobs").addEventListener("input", (event) => {
    if (event.target.dataset.grade) gradeLimits();
    if (["population", "years"].includes(event.target.id)) timeHint();
    markChanges();
  });
  $("knobs").addEventListener("change", markChanges);
  $("preset").addEventListener("change", (e) => loadPreset(e.target.value).catch((error) => showError("run-error", error)));
  $("reset-button").addEventListener("click", () => loadPreset($("preset").value).catch((error) => showError("run-error", error)));
  $("cancel-button").addEventListener("click", () => cancelJob("runJob", "run"));
  $("compare-cancel").addEventListener("click", () => cancelJob("compareJob", "compare"));
  $("compare-form").addEventListener("submit", submitCompare);
  $("pick-form").addEventListener("submit", submitPick);
  $("past-filter").addEventListener("input", showPast);
  $("past-from").addEventListener("change", showPast);
  window.addEventListener("hashchange", route);
  try {
    await loadPresets();
  } catch (error) {
    showError("fatal", error);
  }
  route();
  await reattach().catch((error) => showError("run-error", error));
  document.body.dataset.ready = "true";
});

// The headline numbers' ranges over what the real system keeps secret (its assumptions), from
// the newest `creditsim uncertainty` analysis of this model; where there is none, how to make one.
function secretRanges(secret) {
  if (!secret) {
    return h("p", { class: "hint", id: "secret-ranges",
      text: "Over what is secret: no uncertainty analysis of this model yet. `creditsim uncertainty PRESET` carries the preset's assumption ranges into a range on every headline number, shown here beside the point values." });
  }
  return h("section", { id: "secret-ranges", "aria-label": "ranges over what is secret" },
    h("h3", { text: "Over what is secret: the range each number takes over the assumption ranges" }),
    h("ul", {}, secret.lines.map((l) => h("li", { "data-metric": l.metric, text: l.text }))),
    h("p", { class: "hint", text: secret.analysis }));
}

// Runs and comparisons are numbered apart for readers (run 3, comparison 2); the catalogue id,
// which every address and `creditsim runs show` use, is in the link's title.
function entryName(r) {
  const kind = r.kind === "compare" ? "comparison" : "run";
  return `${kind} ${r.number ?? r.id}`;
}
