#!/bin/sh
# The engines `make cluster` runs, from the distribution's packages when missing: PostgreSQL
# (server binaries under /usr/lib/postgresql/N/bin), nginx, iproute2 and setpriv, and wrk for
# the requests-per-second figures (optional: a Python load generator stands in). apt-get update
# runs once, first, and only when something is missing. The packages' own services are not
# started (the cluster starts its own PostgreSQL and nginx inside its namespaces).
set -eu
need=""
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$need postgresql"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v setpriv >/dev/null 2>&1 || need="$need util-linux"
command -v wrk >/dev/null 2>&1 || want_wrk=1
if [ -z "$need" ] && [ -z "${want_wrk:-}" ]; then
    echo "cluster: postgresql, nginx, iproute2, setpriv and wrk are installed"
    exit 0
fi
echo "cluster: installing${need}${want_wrk:+ wrk}"
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -q >/dev/null
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then  # exit 101: invoke-rc.d starts no service
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
fi
status=0
if [ -n "$need" ]; then
    timeout 600 apt-get install -y -q --no-install-recommends $need >/dev/null || status=$?
fi
if [ -n "${want_wrk:-}" ]; then
    timeout 300 apt-get install -y -q --no-install-recommends wrk >/dev/null 2>&1 ||
        echo "cluster: wrk not available, the Python load generator stands in"
fi
[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
exit $status
