#!/bin/sh
# Runs `hoptac <args>` (default: `hoptac bot`) in the container.
set -eu

data_dir="${HOPTAC_DATA_DIR:-/data}"
mkdir -p "$data_dir"
# The embedding model was built into the image; use it rather than building it again
# into the data volume. A models folder already in the volume (an older setup) is kept.
if [ ! -e "$data_dir/models" ]; then
    ln -s /opt/hoptac/models "$data_dir/models"
fi

exec hoptac "$@"
