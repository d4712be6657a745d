#!/bin/sh
# helpdocs.sh VIPD OUTDIR writes the --help text of vipd and of every
# subcommand (recursively) to OUTDIR/vipd[-sub...].txt: the command
# reference the package installs in /usr/share/doc/vipd/commands.
set -eu
bin=$1
out=$2
mkdir -p "$out"

# doc NAME ARGS... writes NAME.txt, then recurses into the subcommands; the
# body is a subshell so that each level keeps its own variables.
doc() (
	name=$1
	shift
	"$bin" "$@" --help >"$out/$name.txt"
	for sub in $(awk '/^Available Commands:/{on=1; next} on && /^$/{on=0} on {print $1}' "$out/$name.txt"); do
		case $sub in help | completion) continue ;; esac
		doc "$name-$sub" "$@" "$sub"
	done
)
doc vipd
