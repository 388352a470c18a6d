"use strict";
// The page: open a photo, compare gray | colour, place colour hints, download at full size. It only talks to /api.

const $ = (id) => document.getElementById(id);
const state = {
  info: null, file: null, photo: null, points: [], history: [], selected: -1,
  inflight: false, pending: false, scheduled: false, timer: 0, sampler: null, renders: 0,
};

function showMessage(text) { $("message").textContent = text || ""; $("message").hidden = !text; }
function setStatus(text) { $("status").textContent = text; }
function busy(on) { $("busy").hidden = !on; }

async function detail(response) {
  try { return (await response.json()).detail || response.statusText; }
  catch { return `${response.status} ${response.statusText}`; }
}

async function loadInfo() {
  const info = await (await fetch("/api/info")).json();
  state.info = info;
  const parts = [`model ${info.model} at ${info.size}×${info.size}`];
  parts.push(info.takes_hints ? "takes colour hints" : "without colour hints");
  if (info.restores) parts.push("can restore");
  $("model-info").textContent = parts.join(" · ");
  if (!info.takes_hints) {
    for (const id of ["hint-mode", "load-hints"]) $(id).disabled = true;
    $("load-label").setAttribute("aria-disabled", "true");
    $("hint-off").hidden = false;
    $("hint-off").textContent = `Hint mode is off: ${info.hints_off_reason}.`;
  }
  $("restore-group").hidden = !info.restores;
}

// ----------------------------------------------------------------------------------------------- requests
async function upload(file) {
  const form = new FormData();
  form.append("image", file, file.name);
  return fetch("/api/photos", { method: "POST", body: form });
}

async function post(kind, extra = {}) {
  const send = () => {
    const form = new FormData();
    if (state.points.length) form.append("hints", JSON.stringify(state.points));
    form.append("restore", $("restore").checked ? "true" : "false");
    for (const [key, value] of Object.entries(extra)) form.append(key, value);
    return fetch(`/api/photos/${state.photo.id}/${kind}`, { method: "POST", body: form });
  };
  let response = await send();
  if (response.status === 404 && state.file) { // the app let the photo go (memory): open it again, once
    const again = await upload(state.file);
    if (!again.ok) return again;
    state.photo = await again.json();
    response = await send();
  }
  return response;
}

async function setImage(id, blob) {
  const img = $(id);
  const old = img.src;
  img.src = URL.createObjectURL(blob);
  await img.decode();
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  if (id === "after") {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    state.sampler = canvas.getContext("2d", { willReadFrequently: true });
    state.sampler.drawImage(img, 0, 0);
  }
}

async function openFile(file) {
  if (!file) return;
  showMessage("");
  const limit = state.info ? state.info.max_upload_bytes : Infinity;
  if (file.size > limit) {
    showMessage(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, more than the upload limit of ${(limit / 1e6).toFixed(0)} MB.`);
    return;
  }
  setStatus(`Opening ${file.name}…`);
  busy(true);
  try {
    const response = await upload(file);
    if (!response.ok) { setStatus(""); showMessage(await detail(response)); return; }
    const photo = await response.json();
    if (state.photo) fetch(`/api/photos/${state.photo.id}`, { method: "DELETE" });
    Object.assign(state, { file, photo, points: [], history: [], selected: -1 });
    await setImage("before", await (await fetch(`/api/photos/${photo.id}/before`)).blob());
    $("stage").style.setProperty("--aspect", String(photo.width / photo.height));
    document.body.classList.add("has-photo");
    $("editor").hidden = false;
    $("full-size").textContent = `${photo.name}: ${photo.width} × ${photo.height} pixels, downloaded at full size.`;
    changed(false);
    await recolor();
  } finally { busy(false); }
}

async function recolor() {
  if (!state.photo) return;
  state.scheduled = false;
  if (state.inflight) { state.pending = true; return; }
  state.inflight = true;
  busy(true);
  const start = performance.now();
  try {
    const response = await post("preview");
    if (!response.ok) { showMessage(await detail(response)); return; }
    showMessage("");
    await setImage("after", await response.blob());
    $("after").dataset.renders = String(++state.renders);
    const n = state.points.length;
    setStatus(`Colorized in ${((performance.now() - start) / 1000).toFixed(2)} s${n ? ` with ${n} hint${n > 1 ? "s" : ""}` : ""}.`);
  } finally {
    state.inflight = false;
    busy(false);
    if (state.pending) { state.pending = false; recolor(); }
  }
}

function schedule() { clearTimeout(state.timer); state.scheduled = true; state.timer = setTimeout(recolor, 120); }
// for tests and scripts: no colorization running or due
window.appIdle = () => !state.inflight && !state.pending && !state.scheduled;

async function download() {
  busy(true);
  setStatus("Colorizing at full size…");
  try {
    const format = $("format").value;
    const response = await post("result", { format, quality: $("quality").value });
    if (!response.ok) { showMessage(await detail(response)); return; }
    const blob = await response.blob();
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = match ? match[1] : `colour.${format}`;
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    setStatus(`Downloaded ${a.download} (${(blob.size / 1e6).toFixed(1)} MB).`);
  } finally { busy(false); }
}

// ----------------------------------------------------------------------------------------------- wiring
function wire() {
  $("file").addEventListener("change", (e) => { openFile(e.target.files[0]); e.target.value = ""; });
  $("another").addEventListener("click", () => $("file").click());
  document.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", (e) => { e.preventDefault(); document.body.classList.remove("dragging"); openFile(e.dataTransfer.files[0]); });
  $("slider").addEventListener("input", (e) => $("stage").style.setProperty("--split", `${e.target.value}%`));
  $("hint-mode").addEventListener("change", (e) => {
    $("stage").classList.toggle("hinting", e.target.checked);
    if (e.target.checked) { $("slider").value = "0"; $("stage").style.setProperty("--split", "0%"); }
    setStatus(e.target.checked ? "Hint mode: click the photo to add a hint; drag a hint to move it." : "");
  });
  $("stage").addEventListener("pointerdown", (e) => {
    const marker = e.target.closest(".point");
    if (marker) { e.preventDefault(); startDrag(e, marker); }
    else if ($("hint-mode").checked && state.photo && e.button === 0) addPoint(e);
  });
  $("stage").addEventListener("mousedown", (e) => {
    // a click that places a hint has given its picker the focus (addPoint): keep the browser from moving it away
    if ($("hint-mode").checked && !e.target.closest(".point")) e.preventDefault();
  });
  $("points").addEventListener("keydown", keyOnMarker);
  $("undo").addEventListener("click", () => { if (state.history.length) { state.points = JSON.parse(state.history.pop()); state.selected = -1; changed(); } });
  $("clear").addEventListener("click", () => { snapshot(); state.points = []; state.selected = -1; changed(); });
  document.addEventListener("keydown", (e) => { if ((e.ctrlKey || e.metaKey) && e.key === "z" && e.target.tagName !== "INPUT") { e.preventDefault(); $("undo").click(); } });
  $("save-hints").addEventListener("click", saveHints);
  $("load-hints").addEventListener("change", (e) => { if (e.target.files[0]) loadHints(e.target.files[0]); e.target.value = ""; });
  $("restore").addEventListener("change", schedule);
  $("format").addEventListener("change", (e) => { $("quality").hidden = $("quality-label").hidden = e.target.value !== "jpg"; });
  $("download").addEventListener("click", download);
}

wire();
loadInfo().catch((err) => showMessage(`The app does not answer: ${err.message}`));
