"""What the scripts that drive the real credd binary share: an HTTP client, a credd
process (started, stopped, killed), the bootstrap administrator's token, a fresh
PostgreSQL database, and a webhook receiver that counts what credd sends."""
import base64, contextlib, http.server, json, os, signal, socket, sqlite3, subprocess, sys, threading, time
import urllib.error, urllib.parse, urllib.request, uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, token=None, body=None, basic=None, form=None, timeout=10):
    """(status, parsed JSON body); raises OSError when no answer came (credd down)."""
    headers = {}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def expect(status, body, want):
    assert status == want, f"expected {want}, got {status}: {body}"
    return body


def clean_env():
    """This process's environment without CREDD_* settings, so only what a script sets counts."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CREDD_")}


class Credd:
    """`credd serve` in `workdir` on `port` (a free one unless given); `log` collects stderr."""

    def __init__(self, binary, workdir, env, port=None, args=(), log=None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", *args],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL, text=True,
        )
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    sys.exit(f"credd exited with {self.process.returncode}")
                time.sleep(0.1)
        sys.exit("credd did not start listening")

    def stop(self):
        """SIGTERM, a graceful stop; what credd printed on stdout."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, f"graceful stop exited with {self.process.returncode}"
        return out

    def kill(self):
        self.process.kill()
        self.process.wait()


def bootstrap(workdir):
    """The administrator environment id and worker credentials written at first start."""
    with open(os.path.join(workdir, "credd-data", "bootstrap.json")) as f:
        boot = json.load(f)
    return boot["environmentId"], (boot["clientId"], boot["clientSecret"])


def worker_token(base, env_id, client):
    """A worker's token by client credentials (`client`: id and secret)."""
    answer = call("POST", f"{base}/{env_id}/as/token", basic=client, form={"grant_type": "client_credentials"})
    return expect(*answer, 200)["access_token"]


def admin_token(base, workdir):
    return worker_token(base, *bootstrap(workdir))


@contextlib.contextmanager
def postgres_database(admin_url, binary, prefix):
    """A fresh database on the server `admin_url` names, migrated by `credd migrate`; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex}"
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = urllib.parse.urlparse(admin_url)._replace(path=f"/{name}").geturl()
    try:
        subprocess.run([binary, "migrate", "--database-url", url], check=True, stdout=subprocess.DEVNULL)
        yield url
    finally:
        subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE {name} WITH (FORCE)"], check=True)


class WebhookReceiver:
    """Accepts credd's webhook posts and counts them by message id (credd's idempotency key)."""

    def __init__(self):
        self.received = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # Keep-alive, as a real receiver: credd's client pools its connections, and a
            # connection closed after every answer can fail a request that was received.
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.received.setdefault(message["id"], []).append(message)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            # Three instances send up to 64 messages each at once; Python's default
            # backlog of 5 refuses most of them.
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def args(self):
        """`credd serve` flags that send every email and phone message here."""
        return ["--email-delivery", "webhook", "--phone-delivery", "webhook",
                "--webhook-url", self.url, "--webhook-secret", "crash-and-instances-secret"]

    def counts(self):
        with self.lock:
            return {id: len(messages) for id, messages in self.received.items()}


def native_application(env_url, token):
    """A native application with a bundle id of its own, as a wallet app needs; its id."""
    return expect(*call("POST", f"{env_url}/applications", token, {
        "name": "Holder Wallet", "type": "NATIVE_APP", "protocol": "OPENID_CONNECT",
        "grantTypes": ["AUTHORIZATION_CODE"], "responseTypes": ["CODE"], "pkceEnforcement": "S256_REQUIRED",
        "redirectUris": ["com.example.wallet:/callback"], "tokenEndpointAuthMethod": "NONE",
        "mobile": {"bundleId": f"com.example.wallet.{uuid.uuid4().hex}"}}), 201)["id"]


def credential_setup(binary, base, token, workdir, holder_count):
    """An environment with a credential type (one required field, Marker), a wallet app
    on a native application, and `holder_count` users each with a wallet paired by
    `credd wallet pair`."""
    env = expect(*call("POST", f"{base}/v1/environments", token, {"name": "Holders"}), 201)["id"]
    env_url = f"{base}/v1/environments/{env}"
    type_id = expect(*call("POST", f"{env_url}/credentialTypes", token, {
        "title": "Marker Pass", "management": {"mode": "MANAGED"}, "metadata": {"fields": [
            {"id": "Alphanumeric Text -> Marker", "type": "Alphanumeric Text", "title": "Marker", "required": True}]}}),
        201)["id"]
    app = expect(*call("POST", f"{env_url}/digitalWalletApplications", token, {
        "name": "Holder Wallet", "application": {"id": native_application(env_url, token)},
        "appOpenUrl": "https://wallet.example.com"}),
        201)["id"]
    holders = []
    for i in range(holder_count):
        user = expect(*call("POST", f"{env_url}/users", token,
                            {"username": f"holder{i}", "email": f"holder{i}@example.com"}), 201)["id"]
        wallet = expect(*call("POST", f"{env_url}/users/{user}/digitalWallets", token,
                              {"digitalWalletApplication": {"id": app}}), 201)
        wallet_file = os.path.join(workdir, f"wallet-{i}.json")
        subprocess.run([binary, "wallet", "pair", wallet["_links"]["appOpen"]["href"], "--file", wallet_file],
                       check=True, stdout=subprocess.DEVNULL)
        holders.append({"user": user, "wallet": wallet["id"], "file": wallet_file})
    return env_url, type_id, app, holders


def due_jobs(database):
    """Jobs due and not finished, and dead ones, straight from the database (a
    PostgreSQL URL or a SQLite file)."""
    queued_or_running = "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND run_at <= {now}"
    dead = "SELECT count(*) FROM jobs WHERE status = 'dead'"
    if database.startswith("postgres"):
        def count(sql):
            out = subprocess.run(["psql", database, "-Atc", sql.format(now="now()")], check=True, capture_output=True, text=True)
            return int(out.stdout.strip())
    else:
        def count(sql):
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                return db.execute(sql.format(now="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")).fetchone()[0]
    return count(queued_or_running), count(dead)


def pages(url, token, key):
    while url:
        body = expect(*call("GET", url, token), 200)
        yield from body["_embedded"][key]
        url = body["_links"].get("next", {}).get("href")


def mailbox_markers(binary, holder):
    out = subprocess.run([binary, "wallet", "credentials", "--file", holder["file"]], check=True,
                         capture_output=True, text=True).stdout
    markers = []
    for offer in json.loads(out):
        payload = offer["credentialJwt"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        markers.append(claims["vc"]["credentialSubject"]["Marker"])
    return markers
