#!/usr/bin/env python3
"""Extra backend memory of one Excel import (issue 14: at most 64 MiB for any accepted file).

Starts a private PostgreSQL, then, for each workbook below (each the largest of its kind the
limits accept, plus two refused bombs for comparison), starts a fresh `wms backend`, resets
its peak-RSS counter (`/proc/PID/clear_refs` = 5), uploads the file, and reports the new peak
(`VmHWM`) minus the resident size just before: the memory the import added, upload buffer,
parsing and the database work included.

    bench/import_memory.py            # builds the release binary first
    WMS_BIN=target/debug/wms bench/import_memory.py

Needs root (to write clear_refs of the backend and to run PostgreSQL as `postgres`),
PostgreSQL server binaries (PG_BIN, else the newest /usr/lib/postgresql/*/bin), cargo.
The workbooks are written here with the standard library; the legacy .xls case needs the
xlwt module (`pip install xlwt`) and is skipped without it.
"""

import io
import json
import os
import random
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT_MIB = 64
PASSWORD = "bench-admin-password"
SHEET = "Сводная"
HEADER = ["Баркод", "Артикул продавца", "Размер", "Бренд", "АКТУАЛЬНЫЙ ОСТАТОК", "БРАКИ"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def col(n):
    name = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xlsx(rows, shared=False, extra_parts=()):
    """A workbook with sheet `Сводная` holding `rows` (lists of str/int; None = no cell)."""
    strings, index = [], {}

    def cell(r, c, v):
        ref = f"{col(c)}{r + 1}"
        if isinstance(v, int):
            return f'<c r="{ref}"><v>{v}</v></c>'
        if shared:
            if v not in index:
                index[v] = len(strings)
                strings.append(v)
            return f'<c r="{ref}" t="s"><v>{index[v]}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{esc(v)}</t></is></c>'

    body = io.StringIO()
    body.write('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
               'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    for r, row in enumerate(rows):
        body.write(f'<row r="{r + 1}">')
        for c, v in enumerate(row):
            if v is not None:
                body.write(cell(r, c, v))
        body.write("</row>")
    body.write("</sheetData></worksheet>")
    ns = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://'
        'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
        'Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships {ns}><Relationship Id="rId1" '
        f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats'
        f'.org/officeDocument/2006/relationships"><sheets><sheet name="{SHEET}" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships {ns}>'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": body.getvalue(),
    }
    if shared:
        sst = "".join(f"<si><t>{esc(s)}</t></si>" for s in strings)
        parts["xl/sharedStrings.xml"] = (
            '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">'
            f"{sst}</sst>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        for name, data in extra_parts:
            z.writestr(name, data)
    return out.getvalue()


def noise(rng, n):
    """`n` hexadecimal digits: incompressible enough to be a worst case, yet a full file of
    them still fits in the 20 MiB upload limit."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def workbooks():
    """(label, bytes, expected status) of the largest accepted workbook of each kind."""
    rng = random.Random(14)
    rows = 29_999  # the limit is 30,000 rows including the header
    # 1. Every row at the column limits (barcode 100, SKU 100, size 50, brand 255), unique.
    longest = [HEADER] + [
        [f"{i:013d}{noise(rng, 87)}", noise(rng, 100), noise(rng, 50), noise(rng, 255), i, 1]
        for i in range(rows)
    ]
    yield "29,999 rows at the column limits, inline strings", xlsx(longest), 200
    # 1b. The same, padded to a 19.5 MiB upload with an incompressible part.
    plain = xlsx(longest)
    pad = [("xl/media/pad.bin", rng.randbytes(int(19.5 * (1 << 20)) - len(plain) - 4096))]
    yield "the same + an incompressible part (19.5 MiB upload)", xlsx(longest, extra_parts=pad), 200
    # 2. 199,996 unique shared strings in a table just under the 16 MiB part limit.
    shared = [HEADER] + [
        [f"{i:013d}{noise(rng, 87)}", noise(rng, 60), noise(rng, 30), noise(rng, 10), i, 1]
        for i in range(rows - 1)
    ]
    yield "29,998 rows, 119,998 shared strings (7.9 MB table)", xlsx(shared, shared=True), 200
    plain = xlsx(shared, shared=True)
    pad = [("xl/media/pad.bin", rng.randbytes(int(19.5 * (1 << 20)) - len(plain) - 4096))]
    yield ("the same + an incompressible part (19.5 MiB upload)",
           xlsx(shared, shared=True, extra_parts=pad), 200)
    # 3. 990,000 cells (near the 1,000,000 limit): 33 columns per row, 27 ignored.
    wide = [HEADER + [f"extra {c}" for c in range(27)]] + [
        [f"W{i:09d}", "sku", "M", "brand", i, 0] + list(range(27)) for i in range(rows)
    ]
    yield "990,000 cells (33 columns x 30,000 rows)", xlsx(wide), 200
    # 3b. Long, compressible cells (1,000 characters each) that are all kept... up to the
    # column limits: the reader keeps one character more than a valid value may have.
    def long(i):
        return f"{i:08d}" + ("wms-import-" * 90)[:992]
    longcells = [HEADER] + [[long(i), long(i), long(i), long(i), i, 1] for i in range(rows)]
    yield "29,999 rows of 1,000-character cells (too long: row errors)", xlsx(longcells), 200
    # 4. A 19.5 MiB upload: two incompressible media parts beside 10 rows.
    blobs = [(f"xl/media/blob{i}.bin", rng.randbytes(39 << 18)) for i in range(2)]
    small = [HEADER] + [[f"M{i:05d}", None, None, None, 1, 0] for i in range(10)]
    yield "19.5 MiB upload (incompressible parts)", xlsx(small, extra_parts=blobs), 200


def xls_workbook():
    """A legacy .xls near the limits (about 4 MiB, 210,000 cells of the 250,000-cell area,
    70,000 shared strings), or None without xlwt."""
    try:
        import xlwt
    except ImportError:
        return None
    rng = random.Random(97)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet(SHEET)
    for c, h in enumerate(HEADER + [f"extra {c}" for c in range(6)]):
        sheet.write(0, c, h)
    for r in range(1, 17_500):
        row = [f"{r:013d}{noise(rng, 10)}", noise(rng, 25), noise(rng, 8), noise(rng, 30), r, 1]
        for c, v in enumerate(row + list(range(6))):
            sheet.write(r, c, v)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def far_cell():
    """A sheet with the header and one cell at XFD1048576."""
    return ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
            'Баркод</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
            "</sheetData></worksheet>")


class Stack:
    def __init__(self, wms):
        self.work = tempfile.mkdtemp(prefix="wms-import-memory-")
        os.chmod(self.work, 0o755)
        self.as_pg = []
        if os.getuid() == 0:
            shutil.chown(self.work, "postgres", "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        bins = sorted(os.listdir("/usr/lib/postgresql"), key=int)
        self.pg_bin = os.environ.get("PG_BIN") or f"/usr/lib/postgresql/{bins[-1]}/bin"
        self.pg_port = free_port()
        data = os.path.join(self.work, "data")
        subprocess.run(self.as_pg + [f"{self.pg_bin}/initdb", "-D", data, "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(self.as_pg + [f"{self.pg_bin}/pg_ctl", "-D", data, "-w", "-l",
                        os.path.join(self.work, "pg.log"), "-o",
                        f"-p {self.pg_port} -k {self.work} -c listen_addresses='' "
                        "-c fsync=off -c synchronous_commit=off", "start"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(self.as_pg + [f"{self.pg_bin}/psql", "-h", self.work, "-p",
                        str(self.pg_port), "-U", "postgres", "-qc", "CREATE DATABASE wms"],
                       check=True)
        self.wms = wms
        self.backend = None

    def start_backend(self):
        """A fresh backend process (so no case inherits another's freed memory)."""
        self.stop_backend()
        self.api_port = free_port()
        env = dict(os.environ,
                   DATABASE_URL=f"host={self.work} port={self.pg_port} user=postgres dbname=wms",
                   SECRET_KEY="b" * 40, WMS_ADMIN_PASSWORD=PASSWORD, WMS_LOG="warn",
                   WMS_SECRETS_DIR=os.path.join(self.work, "secrets"))
        self.backend = subprocess.Popen(
            [self.wms, "backend", "--migrate", "--listen", f"127.0.0.1:{self.api_port}"],
            env=env)
        self.base = f"http://127.0.0.1:{self.api_port}"
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the backend did not become healthy")
                time.sleep(0.05)
        body = json.dumps({"email": "admin@wms.example.com", "password": PASSWORD}).encode()
        req = urllib.request.Request(self.base + "/api/auth/login", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            self.token = json.load(r)["access_token"]

    def stop_backend(self):
        if self.backend is not None:
            self.backend.terminate()
            self.backend.wait(timeout=30)
            self.backend = None

    def status(self, key):
        with open(f"/proc/{self.backend.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise SystemExit(f"no {key} for the backend")

    def upload(self, name, data):
        boundary = "bench-import-memory"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(self.base + "/api/import/excel", body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def close(self):
        self.stop_backend()
        subprocess.run(self.as_pg + [f"{self.pg_bin}/pg_ctl", "-D",
                        os.path.join(self.work, "data"), "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    wms = os.environ.get("WMS_BIN")
    if not wms:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "wms"], cwd=ROOT,
                       check=True)
        wms = os.path.join(ROOT, "target/release/wms")
    stack = Stack(wms)
    worst = 0
    try:
        cases = list(workbooks())
        xls = xls_workbook()
        if xls is None:
            print("(the .xls case is skipped: it needs the xlwt module)")
        else:
            cases.append(("legacy .xls: 17,500 rows x 12 columns, shared strings", xls, 200))
        far = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(xlsx([HEADER]))) as src, \
                zipfile.ZipFile(far, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = far_cell().encode()
                dst.writestr(item.filename, data)
        bomb = xlsx([HEADER, ["B1"]], extra_parts=[("xl/worksheets/sheet2.xml", b" " * (200 << 20))])
        cases += [("refused: one cell at XFD1048576", far.getvalue(), 413),
                  ("refused: zip bomb (200 MiB of spaces)", bomb, 413)]
        print(f"{'workbook':58} {'file':>9} {'status':>6} {'extra peak RSS':>15}")
        for label, data, expected in cases:
            stack.start_backend()
            # Settle, then make the current RSS the peak.
            time.sleep(0.5)
            with open(f"/proc/{stack.backend.pid}/clear_refs", "w") as f:
                f.write("5")
            before = stack.status("VmRSS")
            name = "bench.xls" if data[:4] == b"\xd0\xcf\x11\xe0" else "bench.xlsx"
            status, body = stack.upload(name, data)
            peak = stack.status("VmHWM")
            extra = (peak - before) / (1 << 20)
            note = ""
            if status != expected:
                note = f"  (expected {expected}: {json.dumps(body)[:200]})"
            elif status == 200 and not body["result"]["success"]:
                note = f"  (row errors: {json.dumps(body['result']['errors'][:2])})"
            if status == 200:
                worst = max(worst, extra)
            print(f"{label:58} {len(data) / (1 << 20):7.1f}Mi {status:>6} {extra:12.1f} MiB{note}")
    finally:
        stack.close()
    verdict = "OK" if worst <= LIMIT_MIB else "OVER"
    print(f"\nworst accepted file: {worst:.1f} MiB extra (limit {LIMIT_MIB} MiB): {verdict}")
    return 0 if worst <= LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
