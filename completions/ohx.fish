complete --keep-order --exclusive --command ohx --arguments "(COMPLETE=fish ohx -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
