"use strict";
// Hint mode: points placed on the photo (in its pixels), their colours, moves by pointer or keyboard, undo, and the
// JSON file infer.py --hints reads. Shares `state`, `$` and `schedule` with app.js, which wires the events.

function colourAt(x, y) {
  const c = state.sampler;
  if (!c) return "#808080";
  const sx = Math.min(c.canvas.width - 1, Math.floor((x + 0.5) * c.canvas.width / state.photo.width));
  const sy = Math.min(c.canvas.height - 1, Math.floor((y + 0.5) * c.canvas.height / state.photo.height));
  const d = c.getImageData(sx, sy, 1, 1).data;
  return "#" + [d[0], d[1], d[2]].map((v) => v.toString(16).padStart(2, "0")).join("");
}

function snapshot() { state.history.push(JSON.stringify(state.points)); }

function changed(recolour = true) {
  render();
  $("undo").disabled = !state.history.length;
  $("clear").disabled = $("save-hints").disabled = !state.points.length;
  if (recolour) schedule();
}

function photoPoint(event) {
  const rect = $("after").getBoundingClientRect();
  const clamp = (v, hi) => Math.max(0, Math.min(hi - 1, Math.round(v)));
  return {
    x: clamp(((event.clientX - rect.left) / rect.width) * state.photo.width - 0.5, state.photo.width),
    y: clamp(((event.clientY - rect.top) / rect.height) * state.photo.height - 0.5, state.photo.height),
  };
}

function render() {
  const layer = $("points"), list = $("hint-list");
  layer.replaceChildren(); list.replaceChildren();
  state.points.forEach((p, i) => {
    const marker = document.createElement("button");
    marker.type = "button";
    marker.className = "point" + (i === state.selected ? " selected" : "");
    marker.style.left = `${((p.x + 0.5) / state.photo.width) * 100}%`;
    marker.style.top = `${((p.y + 0.5) / state.photo.height) * 100}%`;
    marker.style.background = p.color;
    marker.dataset.index = String(i);
    marker.setAttribute("aria-label", `Hint ${i + 1}, ${p.color}, at ${p.x}, ${p.y}: arrow keys move it, Delete removes it`);
    layer.append(marker);

    const item = document.createElement("li");
    if (i === state.selected) item.className = "selected";
    const colour = document.createElement("input");
    colour.type = "color"; colour.value = p.color; colour.id = `hint-colour-${i}`;
    colour.setAttribute("aria-label", `Colour of hint ${i + 1}`);
    let before = null;
    colour.addEventListener("focus", () => { before = JSON.stringify(state.points); });
    colour.addEventListener("input", () => { p.color = colour.value; marker.style.background = p.color; schedule(); });
    colour.addEventListener("change", () => { if (before && before !== JSON.stringify(state.points)) state.history.push(before); before = JSON.stringify(state.points); changed(false); $(`hint-colour-${i}`).focus(); });
    const where = document.createElement("span");
    where.className = "where"; where.textContent = `${i + 1}. at ${p.x}, ${p.y}`;
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove hint ${i + 1}`);
    remove.addEventListener("click", () => removePoint(i));
    item.append(colour, where, remove);
    list.append(item);
  });
}

function removePoint(i) {
  snapshot();
  state.points.splice(i, 1);
  state.selected = -1;
  changed();
}

function addPoint(event) {
  const { x, y } = photoPoint(event);
  snapshot();
  state.points.push({ x, y, color: colourAt(x, y) });
  state.selected = state.points.length - 1;
  changed();
  $(`hint-colour-${state.selected}`).focus(); // the picker starts at the colour the model gives that spot
}

function startDrag(event, marker) {
  const i = Number(marker.dataset.index), p = state.points[i], before = JSON.stringify(state.points);
  let moved = false;
  marker.setPointerCapture(event.pointerId);
  const move = (e) => {
    const q = photoPoint(e);
    if (q.x === p.x && q.y === p.y) return;
    moved = true; p.x = q.x; p.y = q.y;
    marker.style.left = `${((p.x + 0.5) / state.photo.width) * 100}%`;
    marker.style.top = `${((p.y + 0.5) / state.photo.height) * 100}%`;
  };
  const up = () => {
    marker.removeEventListener("pointermove", move);
    state.selected = i;
    if (moved) state.history.push(before);
    changed(moved);
    $(`hint-colour-${i}`).scrollIntoView({ block: "nearest" });
  };
  marker.addEventListener("pointermove", move);
  marker.addEventListener("pointerup", up, { once: true });
}

function keyOnMarker(event) {
  const marker = event.target.closest(".point");
  if (!marker) return;
  const i = Number(marker.dataset.index), p = state.points[i];
  const step = Math.max(1, Math.round(state.photo.width / 100)) * (event.shiftKey ? 5 : 1);
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (event.key in moves) {
    snapshot();
    p.x = Math.max(0, Math.min(state.photo.width - 1, p.x + moves[event.key][0]));
    p.y = Math.max(0, Math.min(state.photo.height - 1, p.y + moves[event.key][1]));
    state.selected = i;
    changed();
    document.querySelector(`.point[data-index="${i}"]`).focus();
  } else if (event.key === "Delete" || event.key === "Backspace") {
    removePoint(i);
  } else if (event.key === "Enter" || event.key === " ") {
    state.selected = i; render(); $(`hint-colour-${i}`).focus();
  } else return;
  event.preventDefault();
}

function saveHints() {
  const name = state.photo.name;
  const text = JSON.stringify({ [name]: state.points }, null, 2) + "\n";
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = `${name.replace(/\.[^.]*$/, "")}-hints.json`;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

async function loadHints(file) {
  let data;
  try { data = JSON.parse(await file.text()); } catch (err) { showMessage(`${file.name} is not JSON: ${err.message}`); return; }
  const entries = Array.isArray(data) ? [data] : Object.entries(data || {}).filter(([k]) => k === state.photo.name).map(([, v]) => v);
  const list = entries.length ? entries[0] : (Object.values(data || {}).length === 1 ? Object.values(data)[0] : null);
  const ok = Array.isArray(list) && list.every((p) => p && Number.isFinite(p.x) && Number.isFinite(p.y) && /^#[0-9a-fA-F]{6}$/.test(p.color));
  if (!ok) { showMessage(`${file.name} holds no hints for ${state.photo.name}: expected {"${state.photo.name}": [{"x", "y", "color": "#rrggbb"}, …]}`); return; }
  snapshot();
  state.points = list.map((p) => ({ ...p, color: p.color.toLowerCase() }));
  state.selected = -1;
  showMessage("");
  changed();
}
