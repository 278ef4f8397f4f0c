#!/usr/bin/env bash
# The upload -> clips -> download walk-through of README.md, with curl, against a running
# server (./scripts/serve). Usage: ./scripts/demo.sh [BASE_URL] [VIDEO]
#   BASE_URL defaults to http://127.0.0.1:8000; VIDEO to a 40 s test video made with FFmpeg.
# Writes clip-*.mp4 and export-*.mp4 into ./demo-output/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${1:-http://127.0.0.1:8000}"
VIDEO="${2:-}"
PY="$ROOT/.venv/bin/python"
OUT="${DEMO_OUTPUT:-$PWD/demo-output}"
mkdir -p "$OUT"

TOKEN="${TOKEN:-$("$ROOT/.venv/bin/editai" token)}"
API="$BASE/graphql"

# gql QUERY [VARIABLES_JSON] -> prints the JSON response; fails on GraphQL errors.
gql() {
  local body
  body=$("$PY" -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$1" "${2:-{\}}")
  curl -sS "$API" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$body" |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin); sys.exit(json.dumps(r["errors"])) if r.get("errors") else print(json.dumps(r["data"]))'
}
# field JSON PATH... -> prints one value of a JSON document
field() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); [d := d[int(k) if k.isdigit() else k] for k in sys.argv[2:]]; print(d)' "$@"; }

wait_job() {
  local job=$1 state
  for _ in $(seq 1 600); do
    state=$(gql 'query($id: ID!) { job(id: $id) { status progress error } }' "{\"id\":\"$job\"}")
    case "$(field "$state" job status)" in
      SUCCEEDED) echo "   job $job SUCCEEDED" >&2; return 0 ;;
      FAILED|CANCELLED) echo "   job $job: $state" >&2; return 1 ;;
    esac
    sleep 0.5
  done
  echo "   job $job did not finish" >&2; return 1
}

if [ -z "$VIDEO" ]; then
  VIDEO="$OUT/source.mp4"
  FFMPEG=$("$PY" -c 'from editai.media.binaries import find_binaries; print(find_binaries().ffmpeg)')
  echo "== making a 40 s test video with $FFMPEG" >&2
  "$FFMPEG" -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=40" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=40" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$VIDEO"
fi

echo "== 1. create a project" >&2
PROJECT=$(field "$(gql 'mutation { createProject(input: {name: "Demo"}) { id } }')" createProject id)
echo "   project $PROJECT" >&2

echo "== 2. upload the source video (GraphQL multipart request)" >&2
curl -sS "$API" -H "Authorization: Bearer $TOKEN" -H 'Apollo-Require-Preflight: true' \
  -F operations="{\"query\":\"mutation(\$p: ID!, \$f: Upload!) { uploadSourceVideo(projectId: \$p, file: \$f) { sourceVideo { durationSeconds width height } } }\",\"variables\":{\"p\":\"$PROJECT\",\"f\":null}}" \
  -F map='{"0":["variables.f"]}' \
  -F 0=@"$VIDEO" >&2
echo >&2

echo "== 3. extract segments (scenes, speech, silence)" >&2
JOB=$(field "$(gql 'mutation($p: ID!) { extractSegments(projectId: $p) { id } }' "{\"p\":\"$PROJECT\"}")" extractSegments id)
wait_job "$JOB"

echo "== 4. generate 3 accurate 9:16 clips of 8 s" >&2
JOB=$(field "$(gql 'mutation($p: ID!) { generateRawClips(projectId: $p, input: {variantCount: 3, clipSeconds: 8, aspect: R9_16, accurate: true}) { id } }' "{\"p\":\"$PROJECT\"}")" generateRawClips id)
wait_job "$JOB"

CLIPS=$(gql 'query($p: ID!) { project(id: $p) { clips { edges { node { id startSeconds durationSeconds downloadUrl } } } } }' "{\"p\":\"$PROJECT\"}")
FIRST_CLIP=$(field "$CLIPS" project clips edges 0 node id)
URL=$(field "$CLIPS" project clips edges 0 node downloadUrl)
echo "== 5. download a clip (signed URL, no token needed)" >&2
curl -sS -o "$OUT/clip-$FIRST_CLIP.mp4" "$BASE$URL"
curl -sS -H 'Range: bytes=0-99' -o /dev/null -w '   range request: HTTP %{http_code}, %{size_download} bytes\n' "$BASE$URL" >&2

echo "== 6. export it: 720p, -14 LUFS, subtitle, mute 1-2 s" >&2
JOB=$(field "$(gql 'mutation($c: ID!) { exportClips(clipIds: [$c], input: {height: 720, subtitleText: "Hello from EditAI", muteRanges: [{startSeconds: 1, endSeconds: 2}]}) { id } }' "{\"c\":\"$FIRST_CLIP\"}")" exportClips id)
wait_job "$JOB"
URL=$(field "$(gql 'query($c: ID!) { clip(id: $c) { status downloadUrl } }' "{\"c\":\"$FIRST_CLIP\"}")" clip downloadUrl)
curl -sS -o "$OUT/export-$FIRST_CLIP.mp4" "$BASE$URL"
echo "== done: $(ls "$OUT" | tr '\n' ' ')" >&2
echo "$OUT/export-$FIRST_CLIP.mp4"
