#!/usr/bin/env bash
# Run a sharded sitool command as N jobs, locally or as a Slurm array (Kaldi's run.pl/slurm.pl
# idea in a few lines):
#
#   utils/run_jobs.sh --cmd local --nj 4 --log exp/log/cache.JOB.log -- \
#       sitool cache-ssl ... --nj 4 --job JOB
#
# Every JOB in the command and the log path becomes the job index (1..N). --cmd local runs
# the jobs as background processes and waits; --cmd slurm submits one `sbatch --array` and
# waits for it (extra sbatch options from $SITOOL_SBATCH_OPTS). When a job fails, the tail of
# its log is printed and the exit status is non-zero.
set -euo pipefail

cmd=local
nj=1
log=
while [ $# -gt 0 ]; do
  case $1 in
    --cmd) cmd=$2; shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_jobs.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
[ $# -gt 0 ] || { echo "run_jobs.sh: no command given after --" >&2; exit 1; }
[ -n "$log" ] || { echo "run_jobs.sh: --log PATH.JOB.log is required" >&2; exit 1; }
mkdir -p "$(dirname "$log")"

job_command() {  # the command with JOB replaced by $1, shell-quoted
  local job=$1 arg out=""
  for arg in "${@:2}"; do
    out+=" $(printf '%q' "${arg//JOB/$job}")"
  done
  echo "$out"
}

show_failure() {
  local job=$1 job_log=${log//JOB/$1}
  echo "run_jobs.sh: job $job/$nj failed; last lines of $job_log:" >&2
  tail -n 20 "$job_log" | sed 's/^/    /' >&2
}

case $cmd in
  local)
    pids=()
    for job in $(seq 1 "$nj"); do
      bash -c "$(job_command "$job" "$@")" > "${log//JOB/$job}" 2>&1 &
      pids+=($!)
    done
    failed=0
    for job in $(seq 1 "$nj"); do
      if ! wait "${pids[$((job - 1))]}"; then
        show_failure "$job"
        failed=1
      fi
    done
    exit $failed ;;
  slurm)
    command -v sbatch > /dev/null || { echo "run_jobs.sh: --cmd slurm but sbatch is not on PATH" >&2; exit 1; }
    script=$(mktemp "${TMPDIR:-/tmp}/sitool_job.XXXXXX.sh")
    {
      echo '#!/usr/bin/env bash'
      echo 'job=$SLURM_ARRAY_TASK_ID'
      # Rebuild the command with the array index in place of JOB at run time.
      printf 'exec'
      for arg in "$@"; do printf ' "%s"' "${arg//JOB/\$\{job\}}"; done
      echo
    } > "$script"
    # shellcheck disable=SC2086
    if ! sbatch --wait --array="1-$nj" --output="${log//JOB/%a}" ${SITOOL_SBATCH_OPTS:-} "$script"; then
      for job in $(seq 1 "$nj"); do
        job_log=${log//JOB/$job}
        if ! grep -q . "$job_log" 2>/dev/null || grep -q -E 'error|Traceback' "$job_log"; then show_failure "$job"; fi
      done
      exit 1
    fi ;;
  *)
    echo "run_jobs.sh: --cmd must be local or slurm, got '$cmd'" >&2
    exit 1 ;;
esac
