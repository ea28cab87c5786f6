// The Segue page: playlists, their tracks, recommendations, a player bar and feedback buttons.
// Everything goes through the JSON API of the same server; errors show as one sentence in a toast.
"use strict";

const PAGE_SIZE = 100;
const POLL_MS = 1000;

const app = {
  playlists: [],
  playlistTotal: 0,
  selected: null,      // the open playlist, as /api/playlists/{id} returns it
  player: null,        // the last /api/player state
  polledAt: 0,         // performance.now() of that state, to move the progress bar between polls
  seeking: false,
  volumeBeforeMute: 50,
};

const $ = (id) => document.getElementById(id);

// Inline SVG icons: emoji and media symbols need fonts that a machine may lack.
const ICONS = {
  play: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>',
  pause: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 5h4v14H6zm8 0h4v14h-4z"/></svg>',
  volume: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z"/></svg>',
  muted: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 9v6h4l5 5V4L7 9zm13.6 3 2.9-2.9-1.4-1.4-2.9 2.9-2.9-2.9-1.4 1.4 2.9 2.9-2.9 2.9 1.4 1.4 2.9-2.9 2.9 2.9 1.4-1.4z"/></svg>',
};

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new Error("The Segue server cannot be reached: is `segue app` still running?");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || `The request failed with status ${response.status}.`);
    error.code = data.error;
    throw error;
  }
  return data;
}

let toastTimer = null;
function showToast(message) {
  const toast = $("toast");
  toast.textContent = message;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 6000);
}

// Run an action and show its error, if any, instead of failing silently.
async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    if (error.code === "UNAUTHORIZED") {
      renderSignIn(false);
    }
    showToast(error.message);
    return undefined;
  }
}

function formatTime(ms) {
  if (ms === null || ms === undefined) return "–";
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

// A stable colour per name, for the offline cover mosaic.
function colourOf(text) {
  let hash = 0;
  for (const character of text || "?") hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 45%, 38%)`;
}

/* ---------- status and sign-in ---------- */

async function loadStatus() {
  const status = await api("GET", "/api/status");
  const where = status.mode === "spotify" ? "Spotify" : "offline catalog";
  $("status").textContent = `${where} · model ${status.model} (${status.run})`;
  if (status.mode === "spotify") renderSignIn(status.signed_in);
  return status;
}

function renderSignIn(signedIn) {
  const account = $("account");
  account.replaceChildren();
  const button = document.createElement("button");
  if (signedIn) {
    button.textContent = "Sign out";
    button.addEventListener("click", () => attempt(async () => {
      await api("POST", "/api/logout");
      location.reload();
    }));
  } else {
    button.textContent = "Sign in with Spotify";
    button.className = "primary";
    button.addEventListener("click", () => { location.href = "/login"; });
  }
  account.append(button);
}

/* ---------- playlists ---------- */

async function loadPlaylists() {
  const page = await api("GET", `/api/playlists?offset=${app.playlists.length}&limit=${PAGE_SIZE}`);
  app.playlists.push(...page.items);
  app.playlistTotal = page.total;
  renderPlaylists();
}

function renderPlaylists() {
  const list = $("playlists");
  list.replaceChildren();
  for (const playlist of app.playlists) {
    const item = document.createElement("li");
    item.textContent = playlist.name;
    item.title = `${playlist.name} · ${playlist.owner}`;
    item.dataset.id = playlist.id;
    item.tabIndex = 0;
    if (app.selected && app.selected.id === playlist.id) item.classList.add("selected");
    item.addEventListener("click", () => selectPlaylist(playlist.id));
    item.addEventListener("keydown", (event) => { if (event.key === "Enter") selectPlaylist(playlist.id); });
    list.append(item);
  }
  $("more-playlists").hidden = app.playlists.length >= app.playlistTotal;
}

async function selectPlaylist(id) {
  await attempt(async () => {
    const playlist = await api("GET", `/api/playlists/${encodeURIComponent(id)}`);
    app.selected = playlist;
    renderPlaylists();
    renderPlaylist();
    await loadRecommendations();
  });
}

function renderPlaylist() {
  const playlist = app.selected;
  $("empty-state").hidden = true;
  $("playlist-header").hidden = false;
  $("panels").hidden = false;
  $("playlist-name").textContent = playlist.name;
  const count = playlist.tracks_total ?? playlist.tracks.length;
  $("playlist-meta").textContent = `${playlist.owner} · ${count} ${count === 1 ? "song" : "songs"}`;
  renderMosaic(playlist);

  const message = $("playlist-message");
  message.textContent = playlist.message || "";
  message.hidden = !playlist.message;
  $("play-playlist").disabled = playlist.tracks.length === 0;

  fillTracks($("tracks"), playlist.tracks, (track, index) =>
    play({ playlist: playlist.id, offset: index }));
}

function renderMosaic(playlist) {
  const mosaic = $("mosaic");
  mosaic.replaceChildren();
  const images = playlist.images || [];
  if (images.length > 0) {
    // Spotify's image of a playlist is usually a mosaic of its albums already.
    mosaic.className = "mosaic single";
    const tile = document.createElement("div");
    tile.style.backgroundImage = `url("${images[0]}")`;
    mosaic.append(tile);
    return;
  }
  mosaic.className = "mosaic";
  const artists = [...new Set(playlist.tracks.map((track) => track.artist || "?"))];
  for (let i = 0; i < 4; i += 1) {
    const artist = artists[i % Math.max(artists.length, 1)] || playlist.name;
    const tile = document.createElement("div");
    tile.style.background = colourOf(artist + i);
    tile.textContent = artist.slice(0, 1).toUpperCase();
    mosaic.append(tile);
  }
}

// Fill a track table; a double-click (or Enter) on a row calls onPlay(track, index).
function fillTracks(table, tracks, onPlay) {
  const body = table.tBodies[0];
  body.replaceChildren();
  tracks.forEach((track, index) => {
    const row = body.insertRow();
    row.dataset.uri = track.uri;
    row.tabIndex = 0;
    const cells = [String(index + 1), track.title || track.uri, track.artist || "", formatTime(track.duration_ms)];
    ["number", "", "", "duration"].forEach((name, column) => {
      const cell = row.insertCell();
      cell.textContent = cells[column];
      if (name) cell.className = name;
      if (column === 1 || column === 2) cell.title = cells[column];
    });
    row.addEventListener("dblclick", () => onPlay(track, index));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") onPlay(track, index); });
  });
  markPlaying();
}

/* ---------- recommendations and feedback ---------- */

async function loadRecommendations() {
  if (!app.selected) return;
  const id = app.selected.id;
  const result = await api("GET", `/api/playlists/${encodeURIComponent(id)}/recommendations?k=10`);
  if (app.selected && app.selected.id === id) renderRecommendations(result);
}

function renderRecommendations(result) {
  const notes = [];
  if (result.popularity_only) notes.push("None of this playlist's songs is known to the model, so these are the most popular songs.");
  if (result.unknown_tracks > 0) notes.push(`${result.unknown_tracks} ${result.unknown_tracks === 1 ? "song is" : "songs are"} unknown to the model and skipped.`);
  if (result.liked || result.disliked) notes.push(`Your feedback: ${result.liked} liked, ${result.disliked} disliked.`);
  $("recommendations-note").textContent = notes.join(" ");
  fillTracks($("recommendations"), result.tracks, (track) => play({ track: track.uri }));
}

async function giveFeedback(feedback) {
  await attempt(async () => {
    const track = app.player && app.player.track;
    if (!track) throw new Error("Nothing is playing: play a song first, then rate it.");
    if (!app.selected) throw new Error("Pick a playlist first: feedback goes to the open playlist's recommendations.");
    const result = await api("POST", `/api/playlists/${encodeURIComponent(app.selected.id)}/feedback`,
      { track: track.uri, feedback, k: 10 });
    renderRecommendations(result);
    const title = track.title || track.uri;
    if (!result.known) {
      showToast(`The model does not know "${title}", so it cannot change the recommendations; the feedback is logged.`);
      return;
    }
    showToast(feedback === "like"
      ? `Added "${title}" to the recommender's input.`
      : `"${title}" will not be recommended again.`);
  });
}

/* ---------- devices and player ---------- */

async function loadDevices() {
  const { devices } = await api("GET", "/api/devices");
  const select = $("devices");
  select.replaceChildren();
  if (devices.length === 0) {
    const option = new Option("No devices: open Spotify on a device", "");
    option.disabled = true;
    select.append(option);
    return;
  }
  for (const device of devices) {
    const option = new Option(`${device.name} · ${device.type}`, device.id);
    option.selected = device.is_active;
    select.append(option);
  }
}

async function play(body) {
  await attempt(async () => {
    const device = $("devices").value || undefined;
    const result = await api("PUT", "/api/player/play", { ...body, device });
    updatePlayer(result.state);
  });
}

async function playerCommand(method, path, body) {
  await attempt(async () => {
    const result = await api(method, path, body);
    updatePlayer(result.state);
  });
}

function togglePlayback() {
  if (!app.player) {
    if (app.selected && app.selected.tracks.length) return play({ playlist: app.selected.id, offset: 0 });
    showToast("Pick a playlist and double-click a song to play it.");
    return undefined;
  }
  return playerCommand("PUT", app.player.is_playing ? "/api/player/pause" : "/api/player/resume");
}

async function pollPlayer() {
  try {
    const result = await api("GET", "/api/player");
    updatePlayer(result.state);
  } catch (error) {
    // A failed poll is retried on the next tick; only sign-in problems need the listener.
    if (error.code === "UNAUTHORIZED") renderSignIn(false);
  }
}

function updatePlayer(state) {
  app.player = state;
  app.polledAt = performance.now();
  const track = state && state.track;
  $("now-title").textContent = track ? (track.title || track.uri) : "Nothing playing";
  $("now-artist").textContent = track ? (track.artist || "") : "";
  $("cover").style.backgroundImage = track && track.image ? `url("${track.image}")` : "";
  $("cover").style.backgroundColor = track && !track.image ? colourOf(track.artist || "") : "";
  const playing = Boolean(state && state.is_playing);
  $("toggle").innerHTML = playing ? ICONS.pause : ICONS.play;
  $("toggle").setAttribute("aria-label", playing ? "Pause" : "Play");
  $("preview-note").hidden = !(state && state.preview);
  if (state && state.device && state.device.volume_percent !== null && document.activeElement !== $("volume")) {
    $("volume").value = state.device.volume_percent;
    const muted = state.device.volume_percent === 0;
    $("mute").innerHTML = muted ? ICONS.muted : ICONS.volume;
    $("mute").setAttribute("aria-label", muted ? "Unmute" : "Mute");
  }
  renderProgress();
  markPlaying();
}

function currentPosition() {
  const state = app.player;
  if (!state) return 0;
  const moved = state.is_playing ? performance.now() - app.polledAt : 0;
  return Math.min(state.progress_ms + moved, state.duration_ms || Infinity);
}

function renderProgress() {
  const state = app.player;
  const duration = state ? state.duration_ms : null;
  const position = currentPosition();
  $("elapsed").textContent = formatTime(state ? position : 0);
  $("total").textContent = formatTime(duration || 0);
  if (!app.seeking) $("seek").value = duration ? Math.round((1000 * position) / duration) : 0;
}

function markPlaying() {
  const uri = app.player && app.player.track ? app.player.track.uri : null;
  for (const row of document.querySelectorAll("table.tracks tbody tr")) {
    row.classList.toggle("playing", row.dataset.uri === uri);
  }
}

/* ---------- wiring ---------- */

function wire() {
  $("more-playlists").addEventListener("click", () => attempt(loadPlaylists));
  $("refresh").addEventListener("click", () => attempt(loadRecommendations));
  $("play-playlist").addEventListener("click", () => app.selected && play({ playlist: app.selected.id, offset: 0 }));
  $("toggle").addEventListener("click", togglePlayback);
  $("next").addEventListener("click", () => playerCommand("POST", "/api/player/next"));
  $("previous").addEventListener("click", () => playerCommand("POST", "/api/player/previous"));
  $("thumb-up").addEventListener("click", () => giveFeedback("like"));
  $("thumb-down").addEventListener("click", () => giveFeedback("dislike"));

  const seek = $("seek");
  seek.addEventListener("input", () => { app.seeking = true; });
  seek.addEventListener("change", () => {
    app.seeking = false;
    const duration = app.player && app.player.duration_ms;
    if (duration) playerCommand("PUT", "/api/player/seek", { position_ms: Math.round((seek.value / 1000) * duration) });
  });

  const volume = $("volume");
  volume.addEventListener("change", () => playerCommand("PUT", "/api/player/volume", { percent: Number(volume.value) }));
  $("mute").addEventListener("click", () => {
    const muted = Number(volume.value) === 0;
    if (!muted) app.volumeBeforeMute = Number(volume.value);
    volume.value = muted ? app.volumeBeforeMute || 50 : 0;
    $("mute").innerHTML = muted ? ICONS.volume : ICONS.muted;
    $("mute").setAttribute("aria-label", muted ? "Mute" : "Unmute");
    playerCommand("PUT", "/api/player/volume", { percent: Number(volume.value) });
  });

  $("devices").addEventListener("change", (event) => attempt(async () => {
    await api("PUT", "/api/player/device", { device: event.target.value });
    await loadDevices();
  }));
  $("devices").addEventListener("focus", () => attempt(loadDevices));

  // The player's keys win over the focused control: a clicked button or slider keeps the focus, and
  // Space would press that button again and the arrows would move that slider.
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target.matches("select, textarea, input:not([type=range])") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " ") {
      event.preventDefault();
      togglePlayback();
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      playerCommand("POST", "/api/player/next");
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      playerCommand("POST", "/api/player/previous");
    }
  });
}

async function start() {
  wire();
  const status = await attempt(loadStatus);
  if (status && status.mode === "spotify" && !status.signed_in) {
    showToast("Sign in with Spotify to see your playlists.");
    return;
  }
  await attempt(loadPlaylists);
  await attempt(loadDevices);
  await pollPlayer();
  setInterval(pollPlayer, POLL_MS);
  setInterval(renderProgress, 250);
}

document.addEventListener("DOMContentLoaded", start);
