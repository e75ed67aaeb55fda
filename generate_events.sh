#!/usr/bin/env bash
# The seed's Apache Bench mix: several users and Host headers, each sword type, two
# guilds with joins and quits, and pay amounts. Prints what it sent, per endpoint.
#
#   bash generate_events.sh                      # against the local API (make api)
#   API_URL=http://127.0.0.1:5000 bash generate_events.sh
#   VIA=compose bash generate_events.sh          # ab inside the compose `mids` container
#   while true; do bash generate_events.sh; sleep 10; done    # the seed's loop
#
# TAG=<text> appends "-<text>" to every user name, so that a run can be told apart.
set -euo pipefail
API_URL=${API_URL:-http://127.0.0.1:${API_PORT:-5000}}
[ "${VIA:-}" = compose ] && API_URL=${API_URL_IN_COMPOSE:-http://localhost:5000}
tag=${TAG:+-$TAG}

# count  host                     path and query
MIX="
 3  user1.comcast.com  /
 5  user1.comcast.com  /purchase_a_sword?user=alice$tag&type=gold
 4  user2.att.com      /purchase_a_sword?user=bob$tag&type=silver
 6  user3.verizon.com  /purchase_a_sword?user=carol$tag&type=bronze
 2  user1.comcast.com  /join_a_guild?user=alice$tag&name=knights
 2  user2.att.com      /join_a_guild?user=bob$tag&name=knights
 3  user3.verizon.com  /join_a_guild?user=carol$tag&name=wizards
 1  user2.att.com      /quit_guild?user=bob$tag&name=knights
 4  user1.comcast.com  /get_paid?user=alice$tag&amount=100
 2  user2.att.com      /get_paid?user=bob$tag&amount=250
 3  user3.verizon.com  /get_paid?user=carol$tag&amount=40
"

ab_run() { # count host url
  if [ "${VIA:-}" = compose ]; then
    docker-compose exec -T mids ab -n "$1" -H "Host: $2" "$3"
  else
    command -v ab >/dev/null || { echo "error: ab is missing; install it with: sudo apt-get install -y apache2-utils" >&2; exit 1; }
    ab -n "$1" -H "Host: $2" "$3"
  fi
}

printf '%-5s %-4s %-5s %-18s %s\n' SENT 2XX OTHER HOST ENDPOINT
total=0 ok_total=0
while read -r count host path; do
  [ -n "${count:-}" ] || continue
  out=$(ab_run "$count" "$host" "$API_URL$path" 2>&1 </dev/null) || { echo "error: ab failed for $path: $(tail -n 1 <<<"$out")" >&2; exit 1; }
  done_=$(awk '/^Complete requests:/ {print $3}' <<<"$out")
  failed=$(awk '/^Failed requests:/ {print $3}' <<<"$out")
  non2xx=$(awk '/^Non-2xx responses:/ {print $3}' <<<"$out")
  ok=$(( done_ - ${failed:-0} - ${non2xx:-0} ))
  printf '%-5s %-4s %-5s %-18s %s\n' "$count" "$ok" "$(( count - ok ))" "$host" "$path"
  total=$(( total + count )); ok_total=$(( ok_total + ok ))
done <<<"$MIX"
echo "sent $total requests, $ok_total answered 2xx"
