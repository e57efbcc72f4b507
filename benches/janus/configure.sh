#!/usr/bin/env bash
# Write a Janus configuration for side-by-side benchmarks into DIR (see
# shared/peer-janus.md): VideoRoom and HTTP only, low log level, IPv4 only,
# ICE on IFACE, HTTP API on loopback.
#   benches/janus/configure.sh DIR IFACE
set -euo pipefail
dir=$1
iface=$2
mkdir -p "$dir"
cp /etc/janus/*.jcfg "$dir"/
cfg="$dir/janus.jcfg"
sed -i \
  -e "s|^\tconfigs_folder = .*|\tconfigs_folder = \"$dir\"|" \
  -e "s|^\tdebug_level = .*|\tdebug_level = 3|" \
  -e "s|^\t#ipv6 = true|\tipv6 = false|" \
  -e "s|^\t#ice_enforce_list = \"eth0\"|\tice_enforce_list = \"$iface\"|" \
  "$cfg"
plugins=$(ls /usr/lib/*/janus/plugins/*.so | xargs -n1 basename | grep -v '^libjanus_videoroom.so$' | paste -sd, -)
transports=$(ls /usr/lib/*/janus/transports/*.so | xargs -n1 basename | grep -v '^libjanus_http.so$' | paste -sd, -)
loggers=$(ls /usr/lib/*/janus/loggers/*.so 2>/dev/null | xargs -rn1 basename | paste -sd, -)
events=$(ls /usr/lib/*/janus/events/*.so 2>/dev/null | xargs -rn1 basename | paste -sd, -)
sed -i \
  -e "s|^\t#disable = \"libjanus_voicemail.so,libjanus_recordplay.so\"|\tdisable = \"$plugins\"|" \
  -e "s|^\t#disable = \"libjanus_rabbitmq.so\"|\tdisable = \"$transports\"|" \
  "$cfg"
[ -n "$loggers" ] && sed -i -e "s|^\t#disable = \"libjanus_jsonlog.so\"|\tdisable = \"$loggers\"|" "$cfg"
[ -n "$events" ] && sed -i -e "s|^\t#disable = \"libjanus_sampleevh.so\"|\tdisable = \"$events\"|" "$cfg"
sed -i -e "s|^\t#ip = \"192.168.0.1\".*|\tip = \"127.0.0.1\"|" "$dir/janus.transport.http.jcfg"
