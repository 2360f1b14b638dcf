#!/usr/bin/env bash
# System packages fangpin's tests need: a PostgreSQL server (the tests start their own),
# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded),
# CJK fonts so pages and screenshots show Chinese, and Java for Spark in local mode. Installs
# only what is missing; needs root (or sudo) for apt-get.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
[ "$(dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null)" = "install ok installed" ] || need+=(fonts-noto-cjk)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
