#!/usr/bin/env bash
# Kaldi/ESPnet-style option parsing, sourced by run.sh after it sets its variables:
#
#   stage=0        # first stage to run
#   . utils/parse_options.sh
#
# Every variable set before sourcing is an option: --stage 3 (or --stage=3) sets $stage,
# and dashes in option names map to underscores (--stop-stage sets $stop_stage). An option
# whose variable was never set is an error naming it. An option whose default is true or
# false is boolean: any other value is an error (as in Kaldi's parse_options.sh). --help prints each option with its
# default and the comment after it, taken from the calling script's own text.
# Positional arguments are left in "$@".

_po_script=${BASH_SOURCE[1]:-$0}

_po_usage() {
  echo "Usage: $_po_script [options]"
  echo "Options (default in brackets):"
  # Lines of the form `name=value   # comment` before the parse_options line.
  sed -n '1,/parse_options.sh/p' "$_po_script" |
    grep -E '^[a-z_][a-z0-9_]*=' |
    while IFS= read -r line; do
      name=${line%%=*}
      rest=${line#*=}
      comment=""
      case $rest in *"#"*) comment=${rest#*#}; comment=${comment# }; rest=${rest%%#*} ;; esac
      value=$(printf '%s' "$rest" | sed -e 's/[[:space:]]*$//')
      printf '  --%-20s %s [%s]\n' "${name//_/-}" "$comment" "$value"
    done
}

while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      _po_usage
      exit 0 ;;
    --*=*)
      _po_name=${1%%=*}; _po_value=${1#*=}; shift ;;
    --*)
      _po_name=$1
      if [ $# -lt 2 ]; then
        echo "$_po_script: option $1 needs a value" >&2
        exit 1
      fi
      _po_value=$2; shift 2 ;;
    *)
      break ;;
  esac
  _po_var=${_po_name#--}
  _po_var=${_po_var//-/_}
  if ! [[ $_po_var =~ ^[a-z][a-z0-9_]*$ ]] || [ -z "${!_po_var+set}" ]; then
    echo "$_po_script: unknown option $_po_name (see --help)" >&2
    exit 1
  fi
  case ${!_po_var} in
    true|false)
      if [ "$_po_value" != true ] && [ "$_po_value" != false ]; then
        echo "$_po_script: option $_po_name takes true or false, got '$_po_value'" >&2
        exit 1
      fi ;;
  esac
  printf -v "$_po_var" '%s' "$_po_value"
done
unset _po_name _po_value _po_var
true
