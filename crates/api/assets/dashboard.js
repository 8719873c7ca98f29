// The reviewlake dashboard: plain JavaScript over the JSON API and Chart.js (vendored).
// Every chart canvas gets `data-points` (data points drawn) and `data-draws` (how many
// times it was drawn) after each drawing, so tests and people can see what was drawn.
"use strict";

const KPIS = ["retention_rate", "review_growth_rate", "avg_rating_variation", "sentiment_variation"];
const charts = {};
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 11;

const $ = (id) => document.getElementById(id);

async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const url = path + (q.toString() ? "?" + q : "");
  const res = await fetch(url, { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body && body.message) || (res.status + " " + url));
  return body;
}

function filters() {
  return {
    state: $("f-state").value,
    category: $("f-category").value,
    source: $("f-source").value,
    grain: $("f-grain").value,
  };
}

function draw(id, config, points) {
  const canvas = $(id);
  if (charts[id]) {
    charts[id].data = config.data;
    charts[id].options = config.options || {};
    charts[id].update();
  } else {
    charts[id] = new Chart(canvas, config);
  }
  canvas.dataset.points = String(points);
  canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
}

function pct(v) {
  return v === null || v === undefined ? "–" : v.toFixed(1) + " %";
}

function targetText(t) {
  return (t.comparison === "gt" ? "> " : "≥ ") + t.value + " %";
}

async function loadKpis(f) {
  const body = await api("/v1/kpis", { grain: f.grain, state: f.state, category: f.category, source: f.source });
  for (const s of body.series) {
    if (!KPIS.includes(s.kpi)) continue;
    const labels = s.points.map((p) => p.period_start);
    const values = s.points.map((p) => p.value);
    const drawnPoints = values.filter((v) => v !== null).length;
    draw("chart-" + s.kpi, {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: s.kpi, data: values, borderColor: "#2f5fd0", backgroundColor: "#2f5fd0", pointRadius: 2, spanGaps: true, borderWidth: 1.5 },
          { label: "target " + targetText(s.target), data: labels.map(() => s.target.value), borderColor: "#c0392b", borderDash: [5, 4], pointRadius: 0, borderWidth: 1 },
        ],
      },
      options: { plugins: { legend: { display: true, labels: { boxWidth: 10 } } }, scales: { x: { ticks: { maxTicksLimit: 8 } } } },
    }, drawnPoints);
    // The card: the latest whole period with a value (a partial period, where a
    // platform's data begins or ends, is never the headline; one on enough reviews if
    // there is one), its trend and its target.
    const card = $("card-" + s.kpi);
    const points = [...s.points].reverse().filter((p) => p.value !== null && !p.partial);
    const last = points.find((p) => !p.low_support) || points[0];
    const value = card.querySelector(".value");
    const meta = card.querySelector(".meta");
    if (!last) {
      value.textContent = "–";
      meta.textContent = "no data for this selection";
      card.dataset.value = "";
      continue;
    }
    let arrow = "";
    if (last.previous_value !== null) {
      arrow = last.value >= last.previous_value ? '<span class="up">▲</span> ' : '<span class="down">▼</span> ';
    }
    value.innerHTML = arrow + pct(last.value);
    const met = last.target_met ? '<span class="met">target met</span>' : '<span class="missed">target missed</span>';
    meta.innerHTML = last.period_start + (last.low_support ? " (few reviews)" : "") + " · previous " + pct(last.previous_value) + "<br>target " + targetText(s.target) + " · " + met;
    card.dataset.value = String(last.value);
    card.dataset.trend = arrow.includes("up") ? "up" : arrow.includes("down") ? "down" : "";
  }
}

async function loadSentiment(f) {
  const body = await api("/v1/sentiment", { state: f.state });
  const labels = body.bin_edges.slice(0, -1).map((e) => e.toFixed(1));
  const colors = { yelp: "#d32323", google: "#4285f4" };
  let points = 0;
  const datasets = body.sources
    .filter((s) => !f.source || s.source === f.source)
    .map((s) => {
      points += s.counts.filter((c) => c > 0).length;
      return {
        label: s.source + " (" + s.reviews + " reviews, mean " + (s.mean_compound === null ? "–" : s.mean_compound.toFixed(2)) + ")",
        data: s.counts.map((c) => (s.reviews ? (100 * c) / s.reviews : 0)),
        backgroundColor: colors[s.source],
      };
    });
  draw("chart-sentiment", {
    type: "bar",
    data: { labels, datasets },
    options: { scales: { y: { title: { display: true, text: "% of reviews" } }, x: { title: { display: true, text: "compound score" } } } },
  }, points);
}

// Red (-1) through yellow (0) to green (+1).
function sentimentColor(s) {
  if (s === null || s === undefined) return "rgba(120,120,120,0.5)";
  const t = Math.max(-1, Math.min(1, s));
  return "hsla(" + Math.round((t + 1) * 60) + ", 75%, 42%, 0.8)";
}

async function loadMapAndSites(f) {
  const [page, sites] = await Promise.all([
    api("/v1/businesses", { state: f.state, category: f.category, source: f.source, limit: 1000 }),
    api("/v1/sites", { state: f.state, category: f.category, limit: 20 }),
  ]);
  const located = page.items.filter((b) => b.latitude !== null && b.longitude !== null);
  const datasets = [{
    label: "businesses (" + located.length + " of " + page.total + ")",
    data: located.map((b) => ({ x: b.longitude, y: b.latitude, name: b.name, s: b.mean_sentiment })),
    pointBackgroundColor: located.map((b) => sentimentColor(b.mean_sentiment)),
    pointRadius: 3,
  }];
  if (sites.items.length) {
    datasets.push({
      label: "site candidates",
      data: sites.items.map((s) => ({ x: s.centroid_longitude, y: s.centroid_latitude, name: s.state + " #" + s.rank })),
      pointStyle: "star",
      pointRadius: 9,
      borderColor: "#2f5fd0",
      backgroundColor: "#2f5fd0",
    });
  }
  draw("chart-map", {
    type: "scatter",
    data: { datasets },
    options: {
      scales: { x: { title: { display: true, text: "longitude" } }, y: { title: { display: true, text: "latitude" } } },
      plugins: { tooltip: { callbacks: { label: (c) => c.raw.name + (c.raw.s !== undefined && c.raw.s !== null ? " (sentiment " + c.raw.s.toFixed(2) + ")" : "") } } },
    },
  }, located.length);

  const tbody = $("sites").querySelector("tbody");
  tbody.innerHTML = "";
  for (const s of sites.items) {
    const tr = document.createElement("tr");
    for (const v of [s.rank, s.state, s.category || "all", s.score.toFixed(3), s.members, s.reasons]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  $("sites").dataset.rows = String(sites.items.length);
  $("sites-empty").hidden = sites.items.length > 0;
}

async function loadCategories(f) {
  const body = await api("/v1/categories/trends", { grain: f.grain, state: f.state, source: f.source, limit: 6 });
  const rows = [...body.rising, ...body.declining];
  $("categories-caption").textContent = "Rising and declining categories (review growth, " +
    (body.period_start ? f.grain + " of " + body.period_start : "no data") + ")";
  draw("chart-categories", {
    type: "bar",
    data: {
      labels: rows.map((r) => r.category),
      datasets: [{ label: "review growth (%)", data: rows.map((r) => r.value), backgroundColor: rows.map((r) => (r.value >= 0 ? "#1a8a4a" : "#c0392b")) }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  }, rows.length);
}

async function refresh() {
  const f = filters();
  const status = $("status");
  try {
    await Promise.all([loadKpis(f), loadSentiment(f), loadMapAndSites(f), loadCategories(f)]);
    status.dataset.refreshes = String(Number(status.dataset.refreshes || 0) + 1);
  } catch (e) {
    status.textContent = "error: " + e.message;
    status.dataset.error = e.message;
  }
}

async function recommend(ev) {
  if (ev) ev.preventDefault();
  const f = filters();
  const source = $("rec-source").value;
  const user = $("rec-user").value.trim();
  const list = $("rec-results");
  list.innerHTML = "";
  if (!user) return;
  try {
    const body = await api("/v1/users/" + encodeURIComponent(source) + "/" + encodeURIComponent(user) + "/recommendations",
      { n: $("rec-n").value, state: f.state, category: f.category });
    $("rec-info").textContent = (body.user.user_key === null ? "unknown user" : "user reviewed " + body.user.reviewed + " businesses") +
      (body.user.segment ? " · segment " + body.user.segment + " ratings" : "") +
      " · " + (body.model ? "model " + body.model.name + " v" + body.model.version : "no model") +
      (body.cold_start ? " · cold start (popular, well-rated places)" : "");
    for (const it of body.items) {
      const b = it.business;
      const li = document.createElement("li");
      li.dataset.business = b.id;
      li.innerHTML = "<strong></strong> <span class=\"muted\"></span> <span class=\"tag\"></span>";
      li.querySelector("strong").textContent = b.name || b.id;
      li.querySelector(".muted").textContent = [b.city, b.state].filter(Boolean).join(", ") + " · " + (b.categories || []).join(", ") + " · score " + it.score.toFixed(2);
      const tag = li.querySelector(".tag");
      tag.textContent = it.cold_start ? "cold start" : "for you (" + it.model + ")";
      if (it.cold_start) tag.classList.add("cold");
      list.appendChild(li);
    }
    list.dataset.items = String(body.items.length);
  } catch (e) {
    $("rec-info").textContent = "error: " + e.message;
  }
}

async function init() {
  const status = $("status");
  try {
    const [snap, facets] = await Promise.all([api("/v1/snapshot"), api("/v1/facets")]);
    for (const s of facets.states) $("f-state").add(new Option(s.value + " (" + s.businesses + ")", s.value));
    for (const c of facets.categories) $("f-category").add(new Option(c.value + " (" + c.businesses + ")", c.value));
    const samples = $("rec-samples");
    samples.textContent = "try: ";
    for (const u of facets.sample_users.slice(0, 6)) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = u.source + ":" + u.id.slice(0, 10);
      b.title = u.id + " (" + u.reviewed + " reviews)";
      b.addEventListener("click", () => { $("rec-source").value = u.source; $("rec-user").value = u.id; recommend(); });
      samples.appendChild(b);
    }
    await refresh();
    status.textContent = "snapshot " + snap.id + " (" + snap.stage + ", " + snap.created_at + ") · reviews through " + snap.data_through + " · loaded " + snap.loaded_at;
    status.dataset.snapshot = String(snap.id);
    status.dataset.ready = "true";
  } catch (e) {
    status.textContent = "error: " + e.message;
    status.dataset.error = e.message;
  }
}

for (const id of ["f-state", "f-category", "f-source", "f-grain"]) $(id).addEventListener("change", refresh);
$("rec-form").addEventListener("submit", recommend);
init();
