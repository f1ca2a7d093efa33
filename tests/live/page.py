"""Drives funky live's page in headless Chromium over the DevTools protocol
(--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4, so no
WebSocket library is needed), while editing the recipe on disk the way an
editor saves: a temporary file renamed over it. The page is loaded once and
never reloaded: every change must arrive through its event stream.

usage: page.py CHROMIUM URL RECIPE OUTDIR BOUND_SECONDS
Writes OUTDIR/1-initial.png ... 5-fixed.png; prints one line per check and
the measured latencies; exits 1 on a failed check."""
import base64, json, os, select, subprocess, sys, time

chrome, url, recipe, outdir, bound = sys.argv[1:6]
bound = float(bound)
failures = 0


def check(name, ok):
    global failures
    print(("ok   " if ok else "FAIL ") + name, flush=True)
    failures += 0 if ok else 1
    return ok


class Browser:
    def __init__(self):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--remote-debugging-pipe", "--window-size=1100,760", "--hide-scrollbars",
                "--user-data-dir=" + os.path.join(outdir, "chrome-profile"), "about:blank"]
        # the protocol wants the pipes on fds 3 (in) and 4 (out)
        self.proc = subprocess.Popen(
            ["bash", "-c", 'exec "$0" "$@" 3<&%d 4>&%d' % (to_chrome_r, from_chrome_w), chrome] + args,
            pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(outdir, "chromium.log"), "w"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf, self.next_id, self.session = b"", 0, None

    def send(self, method, params=None, timeout=20):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError("%s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
            left = deadline - time.time()
            if left <= 0 or not select.select([self.from_chrome], [], [], left)[0]:
                raise RuntimeError("%s: no answer from Chromium in %g s" % (method, timeout))
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe (see chromium.log)")
            self.buf += chunk

    def open(self, url):
        pages = [t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"]
        target = pages[0]["targetId"] if pages else self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def js(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, name):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path = os.path.join(outdir, name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        print("     screenshot: " + path, flush=True)
        return path

    def close(self):
        try:
            self.session = None
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# What the page shows, as the test reads it: the version it drew, the error
# box, and per strip frame the key of the image it displays (data-key is
# set only once the new image has loaded) and whether that image is whole.
SUMMARY = """(() => {
  const err = document.getElementById('error');
  if (!err) return {marker: 0, version: '', status: '', error: '', strip: []};  // still loading
  return {
    marker: window.__test_marker || 0,
    version: document.body.dataset.version || '',
    status: document.getElementById('status').textContent,
    error: err.style.display === 'block' ? err.textContent : '',
    strip: [...document.querySelectorAll('#strip figure')].map(f => ({
      k: +f.dataset.k, key: f.dataset.key, want: f.dataset.want || '',
      caption: f.querySelector('figcaption').textContent,
      loaded: f.querySelector('img').complete && f.querySelector('img').naturalWidth > 0,
      head: f.classList.contains('head')})),
  };
})()"""


def wait_for(b, what, cond, timeout):
    """Polls the page every 20 ms until cond(summary); returns (summary, seconds) or (summary, None)."""
    t0 = time.time()
    s = None
    while time.time() - t0 < timeout:
        s = b.js(SUMMARY)
        if cond(s):
            return s, time.time() - t0
        time.sleep(0.02)
    print("     timed out waiting for " + what + "; the page shows: " + json.dumps(s)[:600], flush=True)
    return s, None


def save(text):
    tmp = os.path.join(os.path.dirname(recipe), "." + os.path.basename(recipe) + ".swp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, recipe)  # as vim and most editors save
    return time.time()


def keys(s):
    return {f["k"]: f["key"] for f in s["strip"]}


def whole(s):
    return len(s["strip"]) >= 10 and all(f["loaded"] and f["key"] and f["key"] == f["want"] for f in s["strip"])


def differs(a, b):
    """Mean absolute difference of two screenshots, 0..255 (PIL)."""
    from PIL import Image, ImageChops, ImageStat
    x, y = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    return sum(ImageStat.Stat(ImageChops.difference(x, y)).mean) / 3


src = open(recipe).read()
b = Browser()
try:
    b.open(url)
    s, _ = wait_for(b, "version 1 on the page", lambda s: s["version"] == "1" and whole(s) and "30/30" in s["status"], 30)
    check("the page shows version 1: %d frames with times (%s ...)" % (len(s["strip"]), s["strip"][0]["caption"] if s["strip"] else "none"),
          whole(s) and s["strip"][0]["caption"].startswith("#0 ") and "0.00 s" in s["strip"][0]["caption"])
    b.js("window.__test_marker = 42")  # gone if the page ever reloads
    shot1 = b.screenshot("1-initial.png")
    k1 = keys(s)

    t_save = save(src.replace('"rainbow"', '"fire"'))
    first = None
    while time.time() - t_save < bound + 5 and first is None:
        s = b.js(SUMMARY)
        if any(f["loaded"] and f["key"] != k1.get(f["k"]) for f in s["strip"]):
            first = time.time() - t_save
        time.sleep(0.01)
    s, _ = wait_for(b, "every strip frame of version 2", lambda s: s["version"] == "2" and whole(s) and
                    all(f["key"] != k1.get(f["k"]) for f in s["strip"]), bound + 5)
    all_new = time.time() - t_save
    shot2 = b.screenshot("2-edited.png")
    check("colour scheme edited on disk: new frames on the page after %.2f s (first) and %.2f s (whole strip), bound %g s"
          % (first or -1, all_new, bound), first is not None and all_new <= bound and s["version"] == "2")
    check("the screenshots differ where the frames are (mean |diff| %.1f)" % differs(shot1, shot2), differs(shot1, shot2) > 1)
    k2 = keys(s)

    t_save = save(src.replace('"rainbow"', '"fire"').replace("function frame(f)", "function frame(f) x = = 1"))
    s, dt = wait_for(b, "the syntax error", lambda s: "live.lua:6" in s["error"], bound + 5)
    check("a syntax error is shown with file:line after %.2f s: %s" % (dt or -1, s["error"].splitlines()[0] if s["error"] else "none"),
          dt is not None and "live.lua:6" in s["error"] and "unexpected symbol" in s["error"])
    check("... and the last good frames stay (version 2, same keys, whole images)",
          s["version"] == "2" and keys(s) == k2 and whole(s) and "version 2 stays live" in s["error"])
    b.screenshot("3-syntax-error.png")

    t_save = save(src.replace('"rainbow"', '"fire"').replace("function frame(f)", 'function frame(f) error("boom")'))
    s, dt = wait_for(b, "the runtime error", lambda s: "live.lua:6: boom" in s["error"], bound + 5)
    check("an error in frame(f) is shown with file:line after %.2f s; version 2 stays" % (dt or -1),
          dt is not None and s["version"] == "2" and keys(s) == k2)
    b.screenshot("4-runtime-error.png")

    t_save = save(src.replace('"rainbow"', '"ice"'))
    s, dt = wait_for(b, "version 3", lambda s: s["version"] == "3" and not s["error"] and whole(s) and
                     all(f["key"] != k2.get(f["k"]) for f in s["strip"]), bound + 5)
    check("fixed: the error goes and rendering resumes, new frames after %.2f s" % (dt or -1), dt is not None and dt <= bound)
    b.screenshot("5-fixed.png")

    b.js("document.querySelector('figure[data-k=\"6\"]').click()")
    s, dt = wait_for(b, "the playhead at 6", lambda s: any(f["head"] and f["k"] == 6 for f in s["strip"]), 10)
    check("clicking a frame moves the playhead (strip from #%s)" % (s["strip"][0]["k"] if s["strip"] else "?"),
          dt is not None and s["strip"][0]["k"] == 4)
    check("the page never reloaded (it updated itself)", b.js("window.__test_marker") == 42)
except Exception as ex:  # a broken protocol exchange is a failure, not a crash
    check("drive the page: %s" % ex, False)
finally:
    b.close()
sys.exit(1 if failures else 0)
