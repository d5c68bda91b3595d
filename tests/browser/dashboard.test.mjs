// The live dashboard in a real browser (Debian's chromium, driven by playwright-core)
// against the real stack started by tests/browser/run.sh: requests inserted into
// PostgreSQL show up in the counters, the chart and the table within 2 s, and a
// disconnected page that comes back misses nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.LASTRO_DASHBOARD_URL;
const bin = process.env.LASTRO_BIN;
const dsn = process.env.LASTRO_PG_DSN;
const screenshot = process.env.LASTRO_SCREENSHOT;

let browser;
let page;

// Inserts `count` requests the way the app does, and waits for the generator.
function insertRequests(count, seed) {
  execFileSync(bin, ["sim", "requests", "--count", String(count), "--rate", "0",
                     "--seed", String(seed), "--customers", "200"],
               { env: { ...process.env, LASTRO_PG_DSN: dsn }, stdio: ["ignore", "pipe", "pipe"] });
}

const todayTotal = () => page.evaluate(() =>
  Object.values(window.lastroDashboard.today).reduce((a, b) => a + b, 0));

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.LASTRO_CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, locale: "pt-BR" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.errors = errors;
  await page.goto(url);
  await page.waitForSelector('#conn-state[data-state="live"]', { timeout: 10000 });
});

after(async () => {
  if (browser) await browser.close();
});

test("page loads in pt-BR with no script or CSP errors", async () => {
  assert.equal(await page.textContent("h1"), "Solicitações de crédito ao vivo");
  assert.equal(await page.evaluate(() => typeof uPlot), "function");
  assert.ok(await page.$("#chart canvas"), "the chart is drawn");
  assert.deepEqual(page.errors, []);
});

test("inserted requests reach counters, chart and table within 2 s", async () => {
  insertRequests(20, 11);
  const started = Date.now();
  await page.waitForFunction(() =>
    Object.values(window.lastroDashboard.today).reduce((a, b) => a + b, 0) === 20 &&
    document.querySelectorAll("#rows tr").length === 20, null, { timeout: 2000 });
  // At least one tick counted them in the chart's data.
  await page.waitForFunction(() => window.lastroDashboard.ticks.some((k) =>
    Object.values(k.rates).some((byStatus) => Object.keys(byStatus).length > 0)),
    null, { timeout: 2000 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed <= 2000, `took ${elapsed} ms`);
  // The visible counters say the same as the state.
  const shown = await page.$$eval("#today-counts dd", (dds) =>
    dds.reduce((a, dd) => a + Number(dd.textContent.replace(/\D/g, "")), 0));
  assert.equal(shown, 20);
  // Then every request gets its decision, animated into the table.
  await page.waitForFunction(() =>
    [...document.querySelectorAll("#rows tr")].every((tr) => tr.dataset.status !== "PENDING"),
    null, { timeout: 10000 });
  const cpfs = await page.$$eval("#rows tr td:nth-child(3)", (tds) => tds.map((td) => td.textContent));
  for (const cpf of cpfs) assert.match(cpf, /^\*\*\*\.\d{3}\.\d{3}-\*\*$/);
  const amount = await page.textContent("#rows tr td:nth-child(4)");
  assert.match(amount, /^R\$\s?[\d.]+,\d{2}$/);
  // The approval rate and latency cards are refreshed by the next once-a-second tick,
  // not by each status event: wait for that tick rather than racing it.
  await page.waitForFunction(() =>
    document.querySelector("#approval-rate").textContent !== "—" &&
    /ms$/.test(document.querySelector("#lat-p99").textContent), null, { timeout: 3000 });
});

test("a page that was disconnected resumes without missing anything", async () => {
  const before = await page.evaluate(() => ({
    resyncs: window.lastroDashboard.resyncs, last: window.lastroDashboard.lastEventId }));
  await page.evaluate(() => window.lastroDisconnect());
  insertRequests(10, 12);
  // The stream decides them while the page is away (polled on the server, deadline 10 s).
  const deadline = Date.now() + 10000;
  for (;;) {
    const summary = await (await fetch(url + "/api/summary")).json();
    if ((summary.today.APPROVED || 0) + (summary.today.REJECTED || 0) +
        (summary.today.MANUAL_REVIEW || 0) + (summary.today.FAILED || 0) === 30) break;
    assert.ok(Date.now() < deadline, "the stream did not decide the requests in 10 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  await page.evaluate(() => window.lastroConnect());
  await page.waitForFunction(() =>
    Object.values(window.lastroDashboard.today).reduce((a, b) => a + b, 0) === 30 &&
    document.querySelectorAll("#rows tr").length === 30, null, { timeout: 5000 });
  const after = await page.evaluate(() => ({
    resyncs: window.lastroDashboard.resyncs, last: window.lastroDashboard.lastEventId }));
  assert.equal(after.resyncs, before.resyncs, "resumed by replay, not by a resync");
  assert.ok(BigInt(after.last) > BigInt(before.last));
  await page.waitForFunction(() =>
    [...document.querySelectorAll("#rows tr")].every((tr) => tr.dataset.status !== "PENDING"),
    null, { timeout: 10000 });
  assert.equal(await todayTotal(), 30);
});

test("English is one click away; filters narrow the table", async () => {
  await page.click("#lang-toggle");
  assert.equal(await page.textContent("h1"), "Live credit requests");
  const channels = await page.$$eval("#filter-channel option", (os) => os.map((o) => o.value));
  assert.ok(channels.length > 1, "channels seen in the stream are offered");
  await page.selectOption("#filter-channel", channels[1]);
  const shown = await page.$$eval("#rows tr td:nth-child(5)", (tds) => tds.map((td) => td.textContent));
  assert.ok(shown.length > 0 && shown.every((c) => c === channels[1]));
  await page.selectOption("#filter-channel", "");
  await page.click("#lang-toggle");  // back to pt-BR for the screenshot
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.deepEqual(page.errors, []);
});
