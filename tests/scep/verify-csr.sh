#!/usr/bin/env bash
# CSR verifier for micromdm's scepserver (`scepserver -csrverifierexec verify-csr.sh`):
# asks Scepter whether a certificate request may be issued.
#
# scepserver runs this program once per PKCSReq, with no arguments, the
# request's PKCS#10 CSR as DER on stdin and scepserver's own environment.
# Exit 0 = issue the certificate; any other exit = refuse (scepserver answers
# the client with failInfo badRequest). scepserver discards this program's
# stdout and stderr, so set SCEPTER_VERIFY_LOG to a file to keep the log.
#
# Environment:
#   SCEPTER_URL              base URL of Scepter, e.g. http://127.0.0.1:8080 (required)
#   SCEPTER_CONNECTOR_TOKEN  bearer JWT with role connector (required)
#   SCEPTER_VERIFY_LOG       file the log is appended to as well as stderr (optional)
#
# The request is
#   POST $SCEPTER_URL/connector/v1/scep/verify
#   {"transactionId": "<hex SHA-256 of the CSR's SubjectPublicKeyInfo DER>",
#    "csr": "<base64 of the CSR DER>"}
# with no "challenge" member: Scepter reads the challenge from the CSR's
# challengePassword attribute, where scepclient puts it. The answer is 200
# {"allowed": true|false, "diagnosticCode", "diagnosticName", "message"}.
# Needs bash, openssl, curl, sha256sum, base64 and (preferably) python3.
set -uo pipefail

log() {
    local line
    line="verify-csr[$$] $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"
    printf '%s\n' "$line" >&2
    if [[ -n ${SCEPTER_VERIFY_LOG:-} ]]; then
        printf '%s\n' "$line" >>"$SCEPTER_VERIFY_LOG" 2>/dev/null || true
    fi
}
refuse() { log "refused: $*"; exit 1; }

[[ -n ${SCEPTER_URL:-} ]] || refuse "SCEPTER_URL is not set"
[[ -n ${SCEPTER_CONNECTOR_TOKEN:-} ]] || refuse "SCEPTER_CONNECTOR_TOKEN is not set"
for tool in openssl curl sha256sum base64; do
    command -v "$tool" >/dev/null 2>&1 || refuse "$tool not found on PATH"
done

work=$(mktemp -d -t scepter-verify.XXXXXX) || refuse "mktemp failed"
trap 'rm -rf -- "$work"' EXIT

cat >"$work/csr.der" || refuse "could not read the CSR from stdin"
[[ -s $work/csr.der ]] || refuse "empty CSR on stdin"

subject=$(openssl req -inform DER -in "$work/csr.der" -noout -subject -nameopt RFC2253 2>/dev/null) \
    || refuse "stdin is not a DER PKCS#10 request"

# transactionId: lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
openssl req -inform DER -in "$work/csr.der" -pubkey -noout 2>/dev/null \
    | openssl pkey -pubin -outform DER -out "$work/spki.der" 2>/dev/null \
    || refuse "could not extract the public key"
transaction_id=$(sha256sum "$work/spki.der" | cut -d ' ' -f 1)
[[ $transaction_id =~ ^[0-9a-f]{64}$ ]] || refuse "could not hash the public key"

# Hex and standard base64 need no JSON escaping.
csr_b64=$(base64 -w 0 "$work/csr.der") || refuse "base64 failed"
printf '{"transactionId":"%s","csr":"%s"}' "$transaction_id" "$csr_b64" >"$work/request.json"

log "transactionId=$transaction_id $subject"

url="${SCEPTER_URL%/}/connector/v1/scep/verify"
# The token goes through a curl config file on stdin, not argv (visible in ps).
status=$(printf 'header = "Authorization: Bearer %s"\n' "$SCEPTER_CONNECTOR_TOKEN" \
    | curl --silent --show-error --config - --max-time 30 \
        --header 'Content-Type: application/json' --header 'Accept: application/json' \
        --data-binary "@$work/request.json" --output "$work/response.json" \
        --write-out '%{http_code}' "$url" 2>"$work/curl.err")
curl_rc=$?
response=$(head -c 4096 "$work/response.json" 2>/dev/null | tr -d '\r\n')
if [[ $curl_rc -ne 0 ]]; then
    refuse "curl exit $curl_rc: $(tr -d '\r\n' <"$work/curl.err")"
fi
log "HTTP $status $response"
[[ $status == 200 ]] || refuse "HTTP $status from $url"

# allowed must be the JSON literal true, at the top level of the answer.
if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import json, sys
try:
    doc = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception:
    sys.exit(2)
sys.exit(0 if isinstance(doc, dict) and doc.get("allowed") is True else 1)
' "$work/response.json"
    allowed_rc=$?
else
    # Without python3: a flat JSON object; `"allowed":` must begin a member,
    # i.e. follow `{` or `,` (a quoted `\"allowed\":true` inside a string does not).
    grep -Eq '(^|[{,])[[:space:]]*"allowed"[[:space:]]*:[[:space:]]*true[[:space:]]*([,}]|$)' "$work/response.json"
    allowed_rc=$?
fi
[[ $allowed_rc -eq 0 ]] || refuse "Scepter did not allow the request"

log "allowed"
exit 0
