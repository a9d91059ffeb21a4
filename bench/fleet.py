"""Helpers of bench/fleet.sh that need more than shell: per-device idle
bodies, membership churn at a fixed rate, and verify/notify pairs prepared
ahead of timing. Standard library only, except `pairs`, which needs the
`cryptography` package (thousands of CSRs and certificates: one process per
openssl CLI call would take minutes).

  python3 bench/fleet.py idle PORT CREDENTIALS          > idle.txt
  python3 bench/fleet.py churn PORT TOKEN MEMBERS RATE SECONDS [WORKERS [CONNECTOR_TOKEN PAIRS NOTIFY_RATE]]
  python3 bench/fleet.py pairs PORT CREDENTIALS CA_PEM CA_KEY COUNT FILES OUT_PREFIX
"""

import base64
import concurrent.futures
import datetime
import http.client
import json
import plistlib
import sys
import threading
import time

CHANGED = json.dumps({"installedProfiles": [], "installedCertificates": []})


def check_in(connection, credential, body, etag=None):
    headers = {"Authorization": "Bearer " + credential, "Content-Type": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    connection.request("POST", "/device/v1/checkin", body, headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, response.getheader("ETag"), data


def idle(port, credentials_path):
    """Per device: a changed check-in, the report of a device that installed
    everything it was told to (every profile at its version, a valid
    certificate per SCEP profile), and the ETag of the answer to that report.
    Prints `credential etag body` lines for bench/fleet-checkin.lua."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    not_before, not_after = stamp(now - datetime.timedelta(days=1)), stamp(now + datetime.timedelta(days=364))
    credentials = open(credentials_path).read().split()
    local = threading.local()
    def one(item):
        n, credential = item
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", int(port))
        connection = local.connection
        status, _, data = check_in(connection, credential, CHANGED)
        assert status == 200, (status, data)
        installs = [item for item in json.loads(data)["items"] if item["action"] == "install"]
        report = {
            "installedProfiles": [{"profileId": i["profileId"], "version": i["version"]} for i in installs],
            # The ledger does not know these thumbprints, so the reported dates decide: far from renewal.
            "installedCertificates": [
                {"profileId": i["profileId"], "thumbprintSha1": "%040X" % (n * 1000 + k),
                 "notBefore": not_before, "notAfter": not_after}
                for k, i in enumerate(installs) if i["profileType"] == "scepCertificate"],
        }
        body = json.dumps(report, separators=(",", ":"))
        status, etag, data = check_in(connection, credential, body)
        assert status == 200, (status, data)
        actions = {item["action"] for item in json.loads(data)["items"]}
        assert actions <= {"none"}, (actions, data)
        status, _, _ = check_in(connection, credential, body, etag)
        assert status == 304, status
        return credential, etag, body, report
    profiles = certificates = 0
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for credential, etag, body, report in pool.map(one, enumerate(credentials)):
            profiles += len(report["installedProfiles"])
            certificates += len(report["installedCertificates"])
            print(credential, etag, body)
    print("%d devices report %.2f profiles and %.2f certificates on average"
          % (len(credentials), profiles / len(credentials), certificates / len(credentials)), file=sys.stderr)


def churn(port, token, members_path, rate, seconds, workers=8,
          connector_token=None, pairs_path=None, notify_rate=0, enrolling_workers=4):
    """Adds and removes device-group members, alternately, `rate` writes a
    second for `seconds`. MEMBERS lists `group device` lines: devices that
    are not in that group. Write i is due at start + i/rate (paced: a late
    write is not made up for by a burst); `workers` connections share them,
    so a slow answer under load does not hold the rate down, and each worker
    keeps to its own devices so a member's add and remove stay in order.

    With a connector token, PAIRS (bench/fleet.py pairs, one file) and
    NOTIFY_RATE, the SCEP connector enrols devices alongside at NOTIFY_RATE
    certificates a second, paced the same way over `enrolling_workers`
    connections: verify, then notify, per prepared pair (two writes: the
    verification step, then the certificate). Prints the achieved rates."""
    members = [line.split() for line in open(members_path)]
    rate, seconds, workers = float(rate), float(seconds), int(workers)
    notify_rate, enrolling_workers = float(notify_rate), int(enrolling_workers)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    start = time.monotonic()
    counts = [[0, 0] for _ in range(workers)]

    def paced(due):
        """Sleeps until `due`; False once `due` is past the run's end."""
        if due - start >= seconds:
            return False
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return True

    def worker(k):
        connection = http.client.HTTPConnection("127.0.0.1", int(port))
        mine = members[k::workers]
        n = 0
        while paced(start + (n * workers + k) / rate):
            group, device = mine[(n // 2) % len(mine)]
            if n % 2 == 0:
                connection.request("POST", "/api/v1/groups/%s/members" % group,
                                   json.dumps({"memberIds": [device]}), headers)
            else:
                connection.request("DELETE", "/api/v1/groups/%s/members/%s" % (group, device), headers=headers)
            response = connection.getresponse()
            response.read()
            counts[k][0] += 1
            if response.status >= 300:
                counts[k][1] += 1
            n += 1

    pairs = [line.rstrip("\n").split("\t") for line in open(pairs_path)] if pairs_path else []
    enrolled = [[0, 0] for _ in range(enrolling_workers)]
    connector = {"Authorization": "Bearer %s" % connector_token, "Content-Type": "application/json"}

    def enrolling(k):
        connection = http.client.HTTPConnection("127.0.0.1", int(port))
        mine = pairs[k::enrolling_workers]
        for n, (verify, notify) in enumerate(mine):
            if not paced(start + (n * enrolling_workers + k) / notify_rate):
                return
            connection.request("POST", "/connector/v1/scep/verify", verify, connector)
            response = connection.getresponse()
            allowed = response.status == 200 and b'"allowed":true' in response.read()
            connection.request("POST", "/connector/v1/scep/notify", notify, connector)
            response = connection.getresponse()
            response.read()
            enrolled[k][0] += 1
            if not allowed or response.status != 201:
                enrolled[k][1] += 1
        # Out of prepared pairs before the end: the rate printed shows it.

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    if pairs and notify_rate > 0:
        threads += [threading.Thread(target=enrolling, args=(k,)) for k in range(enrolling_workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    writes, failures = sum(c[0] for c in counts), sum(c[1] for c in counts)
    notified, refused = sum(c[0] for c in enrolled), sum(c[1] for c in enrolled)
    print("writes=%d failed=%d writes_per_s=%.1f notifications=%d refused=%d notifications_per_s=%.1f "
          "all_writes_per_s=%.1f" % (writes, failures, writes / elapsed, notified, refused,
                                     notified / elapsed, (writes + 2 * notified) / elapsed))


def _challenges(port, credentials, count):
    """(challenge, subject) of SCEP payloads from changed check-ins of the
    fleet, until `count` are collected. Each check-in renders fresh ones."""
    found, lock = [], threading.Lock()
    def worker(offset):
        connection = http.client.HTTPConnection("127.0.0.1", int(port))
        k = offset
        while True:
            with lock:
                if len(found) >= count:
                    return
            status, _, data = check_in(connection, credentials[k % len(credentials)], CHANGED)
            assert status == 200, (status, data)
            k += 4
            got = []
            for item in json.loads(data)["items"]:
                if item["profileType"] != "scepCertificate" or item["action"] != "install":
                    continue
                plist = plistlib.loads(item["payload"].encode())
                scep = next(p for p in plist["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep")
                content = scep["PayloadContent"]
                assert "SubjectAltName" not in content, "bench profiles carry no SANs"
                got.append((content["Challenge"], content["Subject"]))
            with lock:
                found.extend(got)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    return found[:count]


_ca = None


def _load_ca(ca_pem, ca_key):
    global _ca, _keys
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    _ca = (x509.load_pem_x509_certificate(open(ca_pem, "rb").read()),
           serialization.load_pem_private_key(open(ca_key, "rb").read(), None))
    # Key generation is the slow part: a handful of device keys is enough
    # (each transaction records its own request's key, reuse is allowed).
    _keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)]


def _pair(args):
    """A CSR carrying the challenge and the expanded subject, and the
    certificate the CA would issue for it, as verify and notify bodies."""
    n, challenge, subject = args
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import AttributeOID, NameOID
    oids = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    name = x509.Name([x509.RelativeDistinguishedName([x509.NameAttribute(oids[t], v) for t, v in rdn])
                      for rdn in subject])
    key = _keys[n % len(_keys)]
    csr = (x509.CertificateSigningRequestBuilder().subject_name(name)
           .add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
           .sign(key, hashes.SHA256()))
    ca_cert, ca_key = _ca
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=365))
            .sign(ca_key, hashes.SHA256()))
    transaction = "fleet%016x%011x" % (int(time.time() * 1e6), n)
    der = lambda o: base64.b64encode(o.public_bytes(serialization.Encoding.DER)).decode()
    verify = json.dumps({"transactionId": transaction, "csr": der(csr)}, separators=(",", ":"))
    notify = json.dumps({"transactionId": transaction, "certificate": der(cert)}, separators=(",", ":"))
    return verify + "\t" + notify


def pairs(port, credentials_path, ca_pem, ca_key, count, files, prefix):
    """Writes `count` verify/notify pairs round-robin into `files` files
    PREFIX0.txt, PREFIX1.txt, ... (one per wrk connection)."""
    import multiprocessing
    count, files = int(count), int(files)
    started = time.monotonic()
    challenges = _challenges(port, open(credentials_path).read().split(), count)
    assert len(challenges) == count, len(challenges)
    collected = time.monotonic()
    with multiprocessing.Pool(2, _load_ca, (ca_pem, ca_key)) as pool:
        lines = pool.map(_pair, [(n, c, s) for n, (c, s) in enumerate(challenges)], chunksize=64)
    outputs = [open("%s%d.txt" % (prefix, k), "w") for k in range(files)]
    for n, line in enumerate(lines):
        outputs[n % files].write(line + "\n")
    for output in outputs:
        output.close()
    print("%d pairs: challenges in %.0fs, CSRs and certificates in %.0fs"
          % (count, collected - started, time.monotonic() - collected), file=sys.stderr)


if __name__ == "__main__":
    {"idle": idle, "churn": churn, "pairs": pairs}[sys.argv[1]](*sys.argv[2:])
