"""Real servers for the tests of `ohx connection test`, started by the tests with the test venv.

    python servers.py s3 BUCKET
        moto's S3 server (with its IAM) on 127.0.0.1, with BUCKET, a user `reader` allowed to
        list buckets and a user `nobody` allowed nothing, each with an access key; then
        authentication is switched on, so moto checks every signature and permission.
    python servers.py gcs BUCKET PUBLIC_KEY_PEM CLIENT_EMAIL RECORDS_FILE
        the GCS emulator (gcp-storage-emulator) holding BUCKET, and an OAuth 2.0 token endpoint
        that accepts the JWT bearer grant only when the assertion is signed by PUBLIC_KEY_PEM's
        private key, issued by CLIENT_EMAIL for this endpoint; each request is appended to
        RECORDS_FILE as one JSON line.

Each prints one JSON line on stdout when ready (addresses, and for s3 the keys) and runs until
its stdin is closed, which the test does when it drops the server (or dies).
"""

import json
import secrets
import socket
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(info):
    print(json.dumps(info), flush=True)
    sys.stdin.read()


def s3(bucket):
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    setup = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    boto3.client("s3", **setup).create_bucket(Bucket=bucket)
    iam = boto3.client("iam", **setup)
    keys = {}
    for user in ("reader", "nobody"):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                # moto names HeadBucket's permission after the call; AWS checks s3:ListBucket.
                "Action": ["s3:ListBucket", "s3:HeadBucket", "s3:GetBucketLocation"],
                "Resource": "*",
            }
        ],
    }
    iam.put_user_policy(
        UserName="reader", PolicyName="list", PolicyDocument=json.dumps(policy)
    )
    # From now on every request must be signed by a known key and allowed by its policy.
    urllib.request.urlopen(
        urllib.request.Request(
            endpoint + "/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
    ).read()
    ready({"endpoint": endpoint, "keys": keys})
    server.stop()


def gcs(bucket, public_key_file, client_email, records_file):
    import jwt
    from gcp_storage_emulator.server import create_server

    storage_port = free_port()
    storage = create_server("127.0.0.1", storage_port, in_memory=True, default_bucket=bucket)
    storage.start()
    with open(public_key_file, "rb") as f:
        public_key = f.read()
    lock = threading.Lock()

    class TokenEndpoint(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            token_uri = f"http://127.0.0.1:{self.server.server_port}/token"
            record = {
                "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "grant_type": form.get("grant_type", [None])[0],
            }
            assertion = form.get("assertion", [""])[0]
            try:
                record["header"] = jwt.get_unverified_header(assertion)
                claims = jwt.decode(
                    assertion,
                    public_key,
                    algorithms=["RS256"],
                    audience=token_uri,
                    issuer=client_email,
                    options={"require": ["exp", "iat", "iss", "aud"]},
                )
                record["claims"] = claims
                if record["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                    raise ValueError("unsupported grant_type")
                if self.path != "/token":
                    raise ValueError("wrong path")
                token = "ya29." + secrets.token_hex(16)
                record["issued"] = token
                status, document = 200, {
                    "access_token": token,
                    "expires_in": 3599,
                    "token_type": "Bearer",
                }
            except Exception as e:  # noqa: BLE001 - every failure is a refusal, as at Google
                record["refused"] = str(e)
                status, document = 400, {
                    "error": "invalid_grant",
                    "error_description": "Invalid JWT Signature.",
                }
            with lock, open(records_file, "a") as f:
                f.write(json.dumps(record) + "\n")
            self.answer(status, document)

    tokens = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=tokens.serve_forever, daemon=True).start()
    ready(
        {
            "storage": f"http://127.0.0.1:{storage_port}",
            "token_uri": f"http://127.0.0.1:{tokens.server_port}/token",
        }
    )
    tokens.shutdown()
    storage.stop()


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    {"s3": s3, "gcs": gcs}[kind](*args)
