# shellcheck shell=bash
# Sourced, not run: the test runner's bookkeeping and judgements, kept apart from tests/run.sh so that
# tests/runner_selftest.sh can feed them made-up logs and show that each hole stays closed (a build that
# fails, a KTAP program that stops part-way, a boot that runs no suite). Owns the pass / fail / skip
# counters, the KTAP reader (case lines, SKIP, plans), the build steps and the verdict on one boot's log.
# Expects $BUILD and $LOGS to be set by the caller.

pass=0
fail=0
skip=0
failures=()

# ok: one more pass. bad WHY: one more failure, remembered for the closing list and printed now.
# skipped: one more case that checked nothing.
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); failures+=("$1"); echo "FAIL: $1"; }
skipped() { skip=$((skip + 1)); }

# The last line of every run, the one the reader looks at.
summary_line() { echo "$pass passed, $fail failed, $skip skipped"; }

# Reads the KTAP of a log and prints one verdict line per result: "P" (ok), "S name # reason" (ok ... # SKIP,
# counted apart: a skip checks nothing), "F why" (a not ok line, or a plan that disagrees with the lines seen).
#   ktap_verdicts LOG MODE REQUIRE_PLAN
# MODE kernel: the in-kernel runner's output: each suite is a subtest ("    # Subtest: name", "    1..M",
#   M case lines indented by 4 spaces, then the suite's own unindented result line) under a top-level
#   "1..N" that counts suites. Every suite's plan must match its case lines, a suite must reach its result
#   line, and the top-level plan must match the suites reported.
# MODE flat: unindented case lines. A user program's cases run from its "# user: NAME" line to the "1..N"
#   plan it prints last (programs nest: init reports one case per program it ran); a section still open at
#   the end of the log is a program that stopped part-way, and so is one still open when its parent reports
#   it by name (killed, say). Any other "1..N" is the document's plan (before or after its cases), checked
#   against the case lines outside user sections.
# REQUIRE_PLAN 1: a log without a document plan (flat) or a top-level plan (kernel) fails too; 0 checks the
#   plans that are there; "none" counts case lines only (a boot expected to die mid-suite, such as an oops).
ktap_verdicts() {
	tr -d '\r' <"$1" | awk -v mode="$2" -v req="$3" '
	function verdict(line, indent) {
		s = substr(line, length(indent) + 1)
		if (s ~ /^not ok /) { print "F " s; return }
		if (s ~ /^ok [0-9]+ .*# SKIP/) { print "S " s; return }
		print "P"
	}
	function planned(line) { sub(/^ *1\.\./, "", line); return line + 0 }
	BEGIN { depth = 0; docplan = -1; flat = 0; open = 0; top = 0; tplan = -1 }
	mode == "kernel" {
		if ($0 ~ /^    # Subtest: /) {
			if (open && req != "none") print "F suite " sname " stopped after " scases " cases (no result line)"
			open = 1; sname = substr($0, 16); splan = -1; scases = 0; next
		}
		if ($0 ~ /^    1\.\.[0-9]+$/) { if (open) splan = planned($0); next }
		if ($0 ~ /^    (not )?ok [0-9]+( |$)/) { if (open) scases++; verdict($0, "    "); next }
		if ($0 ~ /^(not )?ok [0-9]+( |$)/) {
			top++
			if (open && req != "none" && splan != scases)
				print "F suite " sname ": plan 1.." splan " but " scases " case lines"
			open = 0; next
		}
		if ($0 ~ /^1\.\.[0-9]+$/) tplan = planned($0)
		next
	}
	{
		if ($0 ~ /^# user: [^:]+$/) { depth++; uname[depth] = substr($0, 9); ucases[depth] = 0; next }
		if ($0 ~ /^(not )?ok [0-9]+( |$)/) {
			# A parent reporting a program by name: that program, and any it started, are over.
			split($0, w, " "); cname = (w[1] == "not") ? w[4] : w[3]
			for (k = depth; k > 1; k--) if (uname[k] == cname) break
			if (k > 1) for (; depth >= k; depth--) if (req != "none")
				print "F " uname[depth] " stopped after " ucases[depth] " cases without its plan (1..N)"
			if (depth) ucases[depth]++; else flat++
			verdict($0, ""); next
		}
		if ($0 ~ /^1\.\.[0-9]+$/) {
			n = planned($0)
			if (depth) {
				if (req != "none" && n != ucases[depth])
					print "F " uname[depth] ": plan 1.." n " but " ucases[depth] " case lines"
				depth--
			} else docplan = n
		}
	}
	END {
		if (req == "none") exit
		if (mode == "kernel") {
			if (open) print "F suite " sname " stopped after " scases " cases (no result line)"
			if (tplan >= 0 && tplan != top) print "F plan 1.." tplan " but " top " suites reported"
			if (tplan < 0 && req == 1) print "F no KTAP plan (1..N) in the log"
			exit
		}
		for (; depth > 0; depth--)
			print "F " uname[depth] " stopped after " ucases[depth] " cases without its plan (1..N)"
		if (docplan >= 0 && docplan != flat) print "F plan 1.." docplan " but " flat " case lines"
		if (docplan < 0 && req == 1) print "F no KTAP plan (1..N) in the log"
	}'
}

# Counts a log's KTAP results into the counters: count_ktap LOG MODE TAG [REQUIRE_PLAN, default 0].
count_ktap() {
	local log=$1 mode=$2 tag=$3 req=${4:-0} v
	while IFS= read -r v; do
		case "$v" in
		P) ok ;;
		S*) skipped ;;
		F*) bad "$tag: ${v#F }" ;;
		esac
	done < <(ktap_verdicts "$log" "$mode" "$req")
}

# True when the log shows every regex of "re1 && re2 ..." (each on some line); sets $missing otherwise.
shows_all() {
	local log=$1 rest=$2 re
	[ "$rest" = - ] && return 0
	while [ -n "$rest" ]; do
		re=${rest%% && *}
		[ "$re" = "$rest" ] && rest= || rest=${rest#* && }
		if ! tr -d '\r' <"$log" | grep -Eq -- "$re"; then
			missing=$re
			return 1
		fi
	done
}

# The status a boot ended with: QEMU's exit code, unless that is 0 and the kernel's last console line says
# otherwise (machines without QEMU's test device or HTIF, e.g. sifive_u, exit 0 whatever the kernel says).
boot_status() {
	local log=$1 rc=$2 line
	line=$(tr -d '\r' <"$log" | grep -a -o 'vmk: power off, exit status [0-9]*' | tail -1)
	if [ "$rc" = 0 ] && [ -n "$line" ]; then echo "${line##* }"; else echo "$rc"; fi
}

# True when the boot arguments start /init in its test mode (a bare "test" word among its arguments).
runs_init_tests() {
	case " $1 " in *" init=/init "*) ;; *) return 1 ;; esac
	case " $1 " in *" test "*) return 0 ;; esac
	return 1
}

# The verdict on one finished boot: judge_boot NAME BOOTARGS EXPECT REGEX LOG QEMU_RC
# Counts its KTAP lines and then the boot itself once: a pass when it ended with the expected status and
# its console shows every regex. A boot expected to succeed must also prove that what it was asked to run
# ran: with test= its console must end the suites with "# ktest: N suites, 0 failed" (N >= 1) and every
# plan must match; with init's "test" word, init must report its own plan and a test program its own. (A boot without a console, like
# no-uart, proves it instead through a status only a passing suite run gives: ktest.pass_status=.)
judge_boot() {
	local name=$1 args=$2 expect=$3 regex=$4 log=$5 rc=$6 before=$fail skipped0=$skip mode=flat req=0
	case " $args " in *" test="*) mode=kernel ;; esac
	[ "$expect" != 0 ] && req=none
	count_ktap "$log" "$mode" "$name" "$req"
	[ "$rc" -ne 124 ] && rc=$(boot_status "$log" "$rc")
	if [ "$rc" -eq 124 ]; then
		bad "boot $name: timed out (see $log)"
	elif [ "$rc" != "$expect" ]; then
		bad "boot $name: exit status $rc, expected $expect (see $log)"
		tail -15 "$log"
	elif ! shows_all "$log" "$regex"; then
		bad "boot $name: console never showed /$missing/ (see $log)"
	elif [ "$expect" = 0 ] && [ $mode = kernel ] && ! shows_all "$log" '^# ktest: [1-9][0-9]* suites, 0 failed$'; then
		bad "boot $name: no suite ran (no '# ktest: N suites, 0 failed' line; see $log)"
	elif [ "$expect" = 0 ] && runs_init_tests "$args" &&
		! shows_all "$log" '^# user: init: ([0-9]+)/\1 passed$ && ^# user: t_'; then
		# init's own report alone is not enough: without its "test" word it runs the demo and reports
		# that as its one case.
		bad "boot $name: init never reported its test programs (see $log)"
	else
		ok
	fi
	echo "boot $name: exit $rc, $((fail - before)) failures$([ $skip -gt "$skipped0" ] && echo ", $((skip - skipped0)) skipped")"
}

# One build step: build_step WHAT LOG OUTPUT... -- MAKE ARGS...
# Runs make; when it fails, that is a counted failure and the step's outputs (files or directories) are
# removed, so nothing later runs what an older source built. Returns make's status.
build_step() {
	: "${BUILD:?build_step needs BUILD}"
	local what=$1 log=$2 outs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do outs+=("$1"); shift; done
	shift
	if make -s BUILD="$BUILD" "$@" >>"$log" 2>&1; then return 0; fi
	bad "$what did not build (see $log)"
	grep -m5 -E "error|Error" "$log"
	rm -rf "${outs[@]}"
	return 1
}

# The build steps of make test, each judged on its own; extra arguments go to make (the self-test breaks
# builds with them). A step that fails removes what an older source built, so nothing stale is run.
build_kernel() { build_step "kernel" "$LOGS/build.log" "$BUILD/kernel.bin" "$BUILD/kernel.elf" -- kernel "$@"; }
# The VM_DEBUG image (the arena's invariants asserted), which boots.txt's `image=debug` boots run.
build_kernel_debug() {
	build_step "kernel (VM_DEBUG)" "$LOGS/build.log" "$BUILD/debug/kernel.bin" "$BUILD/debug/kernel.elf" -- kernel-debug "$@"
}
build_host_test() { # NAME [make args]
	local t=$1
	shift
	build_step "host test $t" "$LOGS/build.log" "$BUILD/host/$t" -- "$BUILD/host/$t" "$@"
}
# A .dts that no longer compiles leaves its last .dtb older than itself: that one goes.
build_dtbs() {
	local d n
	build_step "device trees" "$LOGS/build.log" -- -k dtbs "$@" && return 0
	for d in dts/*.dts; do
		n=$(basename "$d" .dts)
		[ "$d" -nt "$BUILD/dtbs/$n.dtb" ] && rm -f "$BUILD/dtbs/$n.dtb"
	done
	return 1
}
# A user program that does not build must not leave the last good initrd to be booted in its place.
build_user() { [ ! -f user/build.mk ] || build_step "user programs" "$LOGS/build.log" "$BUILD/initrd.cpio" -- -k user-programs "$@"; }

# Every build step. Returns 1 when the kernel did not build (nothing can boot).
build_all() {
	local t kernel=0
	: >"$LOGS/build.log"
	build_kernel || kernel=1
	build_kernel_debug
	for t in $(make -s print-host-tests); do build_host_test "$t"; done
	build_dtbs
	build_user
	return $kernel
}
