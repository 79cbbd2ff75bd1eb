"""deploy/nginx/tihuo.conf: Debian's nginx accepts it (`nginx -t`, with a throwaway
certificate made here), and it agrees with the app on what it repeats — the callback
paths, the body sizes, the console's headers."""
from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from handlers.console import CSP
from handlers.transport import RAW_BODIES

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "tihuo.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.example.com")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _render(tmp_path: Path, site: str) -> Path:
    """The site inside a minimal nginx.conf of a prefix of its own: its certificate, logs
    and console directory moved under tmp_path, everything else as shipped."""
    tls = tmp_path / "tls"
    tls.mkdir()
    _self_signed(tls)
    (tmp_path / "logs").mkdir()
    site = (site.replace("/etc/tihuo/tls/", f"{tls}/").replace("/var/log/nginx/", f"{tmp_path}/logs/")
            .replace("/opt/tihuo/", f"{ROOT}/"))
    (tmp_path / "tihuo.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp_path}/logs/access.log;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/tihuo.conf;
}}
""")
    return conf


def _nginx_t(tmp_path: Path, conf: Path) -> subprocess.CompletedProcess:
    assert Path(NGINX).exists(), "install Debian's nginx (apt-get install nginx); .ci/run does"
    return subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)


def test_nginx_accepts_the_site(tmp_path):
    result = _nginx_t(tmp_path, _render(tmp_path, SITE.read_text()))
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_nginx_t_would_catch_a_broken_site(tmp_path):
    # The check above means something: the same site with its certificate missing fails.
    site = SITE.read_text().replace("/etc/tihuo/tls/fullchain.pem", "/etc/tihuo/tls/missing.pem")
    result = _nginx_t(tmp_path, _render(tmp_path, site))
    assert result.returncode != 0
    assert "missing.pem" in result.stderr


def _locations(site: str) -> list[str]:
    return re.findall(r"^\s*location\s+(?:[=~^]+\s+)?(\S+)\s*\{", site, re.MULTILINE)


def test_callback_paths_are_routes_of_the_app(app):
    """Every callback the site names is a route the app answers, and every route outside
    WeChat or partners calls reaches the app (none is shadowed by the console's files)."""
    site = SITE.read_text()
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    notify = re.search(r"location ~ \^/wechat/pay/\(([^)]+)\)\$", site).group(1).split("|")
    assert {f"/wechat/pay/{name}" for name in notify} == {r for r in rules if r.startswith("/wechat/pay/")}
    assert "/wechat/official" in rules and "location = /wechat/official" in site
    assert "/callbacks/kuaidi100/<token>" in rules and "location ^~ /callbacks/kuaidi100/" in site
    assert "/metrics" in rules and re.search(r"location = /metrics \{\s*allow 127\.0\.0\.1;\s*allow ::1;\s*deny all;",
                                             site)
    # Every static location is the console's: nothing else of the app is served from disk.
    for location in _locations(site):
        if location.startswith("/console"):
            continue
        assert "alias" not in site.split(f"{location}", 1)[1].split("}", 1)[0]


def test_body_limits_match_the_app(app):
    site = SITE.read_text()
    server = site.split("listen 443", 1)[1]
    default = re.search(r"^    client_max_body_size (\d+)m;", server, re.MULTILINE).group(1)
    assert int(default) * 1024 * 1024 == app.config["MAX_CONTENT_LENGTH"]
    photos = re.search(r"location ~ \^/api/aftersales/\[\^/\]\+/photos\$ \{\s*client_max_body_size (\d+)m;",
                       site).group(1)
    assert int(photos) * 1024 * 1024 == RAW_BODIES["aftersales.add_photo"][1]
    photo_rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint == "aftersales.add_photo"]
    assert photo_rules and all(re.match(r"^/api/aftersales/[^/]+/photos$", r.replace("<after_sale_no>", "A1"))
                               for r in photo_rules)


def test_console_files_get_the_apps_headers():
    site = SITE.read_text()
    index = site.split("location ^~ /console/ {", 1)[1].split("}", 1)[0]
    assert f'add_header Content-Security-Policy "{CSP}" always;' in index
    assert 'add_header Cache-Control "no-cache" always;' in index
    assets = site.split("location ^~ /console/assets/ {", 1)[1].split("}", 1)[0]
    assert "immutable" in assets and "max-age=31536000" in assets
