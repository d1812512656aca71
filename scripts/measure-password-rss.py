#!/usr/bin/env python3
"""Resident memory of a release `lanyard` around a burst of password sign-ins.

Starts `lanyard serve` on 127.0.0.1:18080 with the quickstart config (its demo users given
precomputed argon2id hashes, the production shape), signs in N times through the password
form, CONCURRENCY at a time, and prints VmRSS at start, right after the burst and after 2,
5 and 15 s idle. Each argon2id check holds 19 MiB while it runs (the default cost); what
stays resident afterwards is what the allocator keeps.

Usage: scripts/measure-password-rss.py BINARY [N=100] [CONCURRENCY=4]
(loopback only; stops by itself)
"""
import concurrent.futures
import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URL = "http://127.0.0.1:18080"


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    work = tempfile.mkdtemp()
    text = open(os.path.join(ROOT, "examples", "quickstart.toml")).read()

    def hashed(m):
        out = subprocess.run([binary, "hash-password"], input=m.group(1).encode(),
                             capture_output=True, check=True).stdout.decode()
        return 'password_hash = "%s"' % out.strip().splitlines()[-1]

    text = re.sub(r'insecure_demo_password = "([^"]+)"', hashed, text)
    text = text.replace("127.0.0.1:8080", "127.0.0.1:18080")
    text = text.replace('"../data/keys"', '"%s/keys"' % work)
    text = text.replace('document_file = "policies/',
                        'document_file = "%s/examples/policies/' % ROOT)
    config = os.path.join(work, "lanyard.toml")
    open(config, "w").write(text)
    log = open(os.path.join(work, "log"), "w")
    proc = subprocess.Popen([binary, "serve", "--config", config], cwd=work,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(URL + "/readyz")
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(2)

        def rss():
            for line in open("/proc/%d/status" % proc.pid):
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
            return float("nan")

        print("start (2 s after ready): %.1f MiB" % rss())

        def sign_in(_):
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            html = opener.open(URL + "/auth/corp").read().decode()
            csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
            form = urllib.parse.urlencode(
                {"username": "alice", "password": "alice-demo-pw", "csrf": csrf})
            return opener.open(URL + "/auth/corp", form.encode()).status

        began = time.time()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(sign_in, range(n)))
        ok = sum(1 for a in answers if a == 200)
        print("%d sign-ins (%d at a time), %d reached the role picker, in %.1f s"
              % (n, concurrency, ok, time.time() - began))
        print("right after: %.1f MiB" % rss())
        waited = 0
        for idle in (2, 5, 15):
            time.sleep(idle - waited)
            waited = idle
            print("after %2d s idle: %.1f MiB" % (idle, rss()))
        print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
