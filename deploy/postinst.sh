#!/bin/sh
# Create the vipd user and tell systemd about the units; the package does
# not enable or start vipd: configure /etc/vipd/vipd.yaml and run
# `vipd check` first (see /usr/share/doc/vipd/quickstart.md).
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers vipd.conf
elif ! getent passwd vipd >/dev/null; then
	adduser --system --group --no-create-home --home /var/lib/vipd vipd
fi
chgrp vipd /etc/vipd 2>/dev/null || true
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
