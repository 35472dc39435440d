#!/bin/bash
# tests/shellcheck.sh [SHELLCHECK]: shellcheck (-S warning) every shell
# script of the repository; the ctest vm.shellcheck.
#
# A shell script is a file named *.sh or one whose first line runs a shell
# (#!/bin/sh, #!/bin/bash, #!/bin/busybox sh, #!/usr/bin/env bash, ...).
# They are looked for each time, so a new script is never left out: among
# the files git knows (tracked, or new and not ignored), or, outside a git
# checkout, every file but build/ and .git/.  `# shellcheck source=`
# paths are relative to the top of the tree, where this runs.
set -euo pipefail

sc=${1:-shellcheck}
cd "$(dirname "$0")/.."
if ! command -v "$sc" >/dev/null; then
	echo "shellcheck.sh: $sc not found (./rodp setup installs shellcheck)" >&2
	exit 1
fi

# The files to look at, NUL-terminated, relative to the top.
files()
{
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard
	else
		find . \( -path ./build -o -path ./.git \) -prune -o -type f \
			-print0 | sed -z 's|^\./||'
	fi
}

# is_shell FILE: FILE's first line is a #! line that runs a shell.
is_shell()
{
	local line words prog

	LC_ALL=C read -r line <"$1" 2>/dev/null || [ -n "${line:-}" ] ||
		return 1
	[[ $line == '#!'* ]] || return 1
	read -r -a words <<<"${line#'#!'}"
	[ ${#words[@]} -gt 0 ] || return 1
	prog=${words[0]##*/}
	if [ "$prog" = env ] || [ "$prog" = busybox ]; then
		prog=${words[1]:-}
	fi
	case $prog in
	sh | bash | dash | ash | ksh) return 0 ;;
	esac
	return 1
}

scripts=()
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue		# deleted, still in the index
	case $f in
	*.sh | *.bash) scripts+=("$f") ;;
	*) if is_shell "$f"; then scripts+=("$f"); fi ;;
	esac
done < <(files)

if [ ${#scripts[@]} -eq 0 ]; then
	echo "shellcheck.sh: no shell script found" >&2
	exit 1
fi
echo "# shellcheck of ${#scripts[@]} scripts:"
printf '#   %s\n' "${scripts[@]}"
exec "$sc" -x -P SCRIPTDIR -S warning "${scripts[@]}"
