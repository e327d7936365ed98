# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kloset_global_optspecs
    string join \n q/quiet json keyfile= o/option= h/help V/version
end

function __fish_kloset_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kloset_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kloset_using_subcommand
    set -l cmd (__fish_kloset_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kloset -n "__fish_kloset_needs_command" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_needs_command" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_needs_command" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_needs_command" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_needs_command" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_needs_command" -s V -l version -d 'Print version'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "at" -d 'Run a store command against LOCATION: a path, fs:///path, s3://host/bucket[/prefix] or @name'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "create" -d 'Initialise a new store (asks for a passphrase twice, or reads KLOSET_PASSPHRASE)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "backup" -d 'Back up a directory, file, s3:// location or @source into the store'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "synthesize" -d 'Back up a generated tree of FILES tiny files (for scripts/bench\'s scale step): each generation changes CHANGED per mille of them'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "ls" -d 'List snapshots, or the entries at ID[:/path] inside one'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "restore" -d 'Restore a snapshot (or ID:/sub/path) to a directory, s3:// location or @destination'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "diff" -d 'What changed between two snapshots: + added, - removed, M modified, U metadata only'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "find" -d 'Which snapshots hold entries matching a glob: `*.pdf` matches names, `/etc/**/x` whole paths'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "cat" -d 'Print one file (or S3 object) of a snapshot to stdout: ID:/path/to/file'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "dump" -d 'Write a directory of a snapshot to stdout as a tar or zip archive (a file: its content)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "info" -d 'Show the store, or one snapshot or entry'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "mount" -d 'Mount the store read-only with FUSE: ids/, snapshots/, hosts/, tags/ (restic\'s layout)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "ui" -d 'Browse the store in a web browser: a local read-only web UI behind a random token'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "check" -d 'Verify the store: every snapshot\'s trees and blobs are indexed and every pack exists'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "rm" -d 'Delete snapshots (their data stays until a prune)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "forget" -d 'Delete the snapshots a retention policy does not keep (restic\'s rules; local time)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "stats" -d 'How much space snapshots take: restore size, distinct file contents, or stored data'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "tag" -d 'Add, remove or set tags on snapshots already taken (each becomes a new snapshot)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "rewrite" -d 'Take paths out of snapshots already taken: new snapshots without them'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "prune" -d 'Reclaim space: delete packs no snapshot needs, repack partly used ones, compact the index. Safe beside running backups (two phases, see FORMAT.md)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "sync" -d 'Copy snapshots to or from another store (only the data it lacks; incremental)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "key" -d 'Passphrases that open the store: list, add, rm, passwd'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "repair" -d 'Rebuild what is damaged: `repair index` indexes packs from their own headers'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "source" -d 'Manage named sources (what to back up)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "store" -d 'Manage named stores (where backups live)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "destination" -d 'Manage named destinations (where to restore)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "manpages" -d 'Write man pages into DIR (one per subcommand)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "limits" -d 'Time each stage of a backup and a restore of TREE on one core (for scripts/bench)'
complete -c kloset -n "__fish_kloset_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "create" -d 'Initialise a new store (asks for a passphrase twice, or reads KLOSET_PASSPHRASE)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "backup" -d 'Back up a directory, file, s3:// location or @source into the store'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "synthesize" -d 'Back up a generated tree of FILES tiny files (for scripts/bench\'s scale step): each generation changes CHANGED per mille of them'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "ls" -d 'List snapshots, or the entries at ID[:/path] inside one'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "restore" -d 'Restore a snapshot (or ID:/sub/path) to a directory, s3:// location or @destination'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "diff" -d 'What changed between two snapshots: + added, - removed, M modified, U metadata only'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "find" -d 'Which snapshots hold entries matching a glob: `*.pdf` matches names, `/etc/**/x` whole paths'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "cat" -d 'Print one file (or S3 object) of a snapshot to stdout: ID:/path/to/file'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "dump" -d 'Write a directory of a snapshot to stdout as a tar or zip archive (a file: its content)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "info" -d 'Show the store, or one snapshot or entry'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "mount" -d 'Mount the store read-only with FUSE: ids/, snapshots/, hosts/, tags/ (restic\'s layout)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "ui" -d 'Browse the store in a web browser: a local read-only web UI behind a random token'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "check" -d 'Verify the store: every snapshot\'s trees and blobs are indexed and every pack exists'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "rm" -d 'Delete snapshots (their data stays until a prune)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "forget" -d 'Delete the snapshots a retention policy does not keep (restic\'s rules; local time)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "stats" -d 'How much space snapshots take: restore size, distinct file contents, or stored data'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "tag" -d 'Add, remove or set tags on snapshots already taken (each becomes a new snapshot)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "rewrite" -d 'Take paths out of snapshots already taken: new snapshots without them'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "prune" -d 'Reclaim space: delete packs no snapshot needs, repack partly used ones, compact the index. Safe beside running backups (two phases, see FORMAT.md)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "sync" -d 'Copy snapshots to or from another store (only the data it lacks; incremental)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "key" -d 'Passphrases that open the store: list, add, rm, passwd'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "repair" -d 'Rebuild what is damaged: `repair index` indexes packs from their own headers'
complete -c kloset -n "__fish_kloset_using_subcommand at; and not __fish_seen_subcommand_from create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l kdf-memory-mib -d 'Argon2id memory cost in MiB' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l kdf-iterations -d 'Argon2id iterations' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l pack-size-mib -d 'Target pack size in MiB' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l like -d 'Share another store\'s chunker parameters and blob ids (and so its master key), so `sync` between them moves data without re-chunking' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l other-keyfile -d 'Read the other store\'s passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l no-dictionary -d 'Never train a zstd dictionary: one holds verbatim fragments of the first backup\'s small files (sealed, but kept for good); small files then take more space'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l padding -d 'Pad every blob to a size class (at most ~11 % more, at least 512 bytes), so stored sizes no longer tell compressed sizes. Needs a kloset that reads padded blobs'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l tag -d 'Tag the snapshot (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l host -d 'Record this host name instead of this machine\'s' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l exclude -d 'Leave out paths (or object keys) matching this gitignore-style pattern (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l iexclude -d 'Like --exclude, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l exclude-file -d 'Read exclude patterns from a file, one a line (repeatable)' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l exclude-if-present -d 'Leave out the contents of directories holding this file: NAME or NAME:HEADER (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l time -d 'Record this time instead of now: \'YYYY-MM-DD HH:MM:SS\' (local) or RFC 3339' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l force -d 'Read every file, ignoring the parent snapshot'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l exclude-caches -d 'Leave out the contents of directories holding a valid CACHEDIR.TAG'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -s x -l one-file-system -d 'Stay on the filesystems of the paths given (mount points are kept, empty)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -s n -l dry-run -d 'Read the source and report what would be stored; write nothing to the store'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from backup" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -l per-dir -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -l generation -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -l changed-permille -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from synthesize" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -s l -l long -d 'Long listing: mode, owner, size, time, and S3 metadata'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -s R -l recursive -d 'Everything below the path, with full paths'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -l versions -d 'S3 keys backed up with versions=all: each version and delete marker, oldest first, and keys whose newest entry is a delete marker'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l to -d 'Where to restore: a directory, s3://host/bucket[/prefix] or @destination[:sub/path]. `-to` works too' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l include -d 'Restore only paths matching this gitignore-style pattern, with the directories on the way (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l iinclude -d 'Like --include, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l exclude -d 'Leave out paths matching this pattern; a directory takes its contents along (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l iexclude -d 'Like --exclude, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l as-of -d 'S3 keys as they stood at TIME (RFC 3339, or \'YYYY-MM-DD HH:MM:SS\' local time), from a snapshot taken with versions=all: per key the newest version not after TIME, nothing for a key deleted or not yet written then' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l force -d 'Restore into a non-empty target, overwriting what is there'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l thaw -d 'Packs in an archive storage class: ask S3 to restore them, wait, then restore'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l no-special -d 'Skip device nodes and FIFOs, clear setuid/setgid bits and drop file capabilities: recommended when restoring a snapshot another host made'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -l snapshot -d 'Only this snapshot' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -s i -l ignore-case -d 'Match regardless of case'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from find" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from cat" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -l format -r -f -a "tar\t''
zip\t''"
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from info" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from info" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from info" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from info" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l refresh -d 'Look at the store\'s snapshots again after this many seconds (on access; 1 at least)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l cache -d 'MiB of file content kept in memory for reads' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from mount" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l listen -d 'Where to listen: loopback unless an address is given' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l refresh -d 'Look at the store\'s snapshots again after this many seconds (on access; 1 at least)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l open -d 'Open the page in the default browser'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from ui" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -l read-data-subset -d 'Read only a slice of the packs: `1/10` (then 2/10 next time...) or `5%` at random' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -l read-data -d 'Also download every pack, re-hash it and decrypt every blob'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rm" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rm" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rm" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-last -d 'Keep the N newest snapshots' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-hourly -d 'Keep the newest snapshot of each of the N most recent hours that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-daily -d 'Keep the newest snapshot of each of the N most recent days that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-weekly -d 'Keep the newest snapshot of each of the N most recent ISO weeks that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-monthly -d 'Keep the newest snapshot of each of the N most recent months that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-yearly -d 'Keep the newest snapshot of each of the N most recent years that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-within -d 'Keep snapshots younger than this, counted from the group\'s newest (e.g. 2d, 1y6m, 12h)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keep-tag -d 'Keep snapshots carrying all these tags (comma-separated; repeatable, any list)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l group-by -d 'Apply the policy to each group of snapshots: host, source, tags, or a comma list' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l dry-run -d 'Show what would be removed, remove nothing'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l prune -d 'Prune afterwards (with prune\'s defaults)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from forget" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l mode -d 'What to count (restic\'s modes)' -r -f -a "restore-size\t'What a restore of the snapshots would write: every file of each, counted in each'
files-by-contents\t'Each distinct file content once: what the files take before chunking'
raw-data\t'The blobs the snapshots need, each once: what they take in the store'"
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l by -d 'One line per host, source or tag, beside the total' -r -f -a "host\t''
source\t''
tag\t''"
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l add -d 'Add this tag (repeatable; comma lists too)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l remove -d 'Remove this tag (repeatable; comma lists too)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l set -d 'Replace all tags with these (repeatable; comma lists too; `--set \'\'` clears them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from tag" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l exclude -d 'Take out paths (or S3 keys) matching this gitignore-style pattern (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l iexclude -d 'Like --exclude, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l exclude-file -d 'Read exclude patterns from a file, one a line (repeatable)' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l forget -d 'Remove each original once its rewritten snapshot is saved (a prune then reclaims what only the originals held)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l dry-run -d 'Show what would be taken out, write nothing'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from rewrite" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -l max-unused -d 'Unused space left in partly used packs, as a share of the store (e.g. 5%, 0%)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -l max-repack -d 'Repack at most this much in one run (e.g. 2GiB, 500MiB)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -l delete-delay -d 'Marked packs are deleted only this much later (by the server\'s clock). Running backups and syncs announce themselves with leases and are safe without it; set it longer than any backup when older kloset builds, which take no lease, write here' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be done, change nothing'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -l other-keyfile -d 'Read the other store\'s passphrase from the first line of FILE (else its passphrase option, KLOSET_OTHER_PASSPHRASE, or a prompt)' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -f -a "list" -d 'The keys, the one in use marked with *'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -f -a "add" -d 'Add a passphrase (from --new-keyfile, KLOSET_NEW_PASSPHRASE, or asked twice)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -f -a "rm" -d 'Remove a key by name or prefix (never the last; the one in use only with --force)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -f -a "passwd" -d 'Change the passphrase in use: add the new one, then remove the one in use'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from key" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -f -a "index" -d 'Index every pack no readable index file names, from its header; remove damaged index files'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from repair" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "create" -d 'Initialise a new store (asks for a passphrase twice, or reads KLOSET_PASSPHRASE)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "backup" -d 'Back up a directory, file, s3:// location or @source into the store'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "synthesize" -d 'Back up a generated tree of FILES tiny files (for scripts/bench\'s scale step): each generation changes CHANGED per mille of them'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List snapshots, or the entries at ID[:/path] inside one'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Restore a snapshot (or ID:/sub/path) to a directory, s3:// location or @destination'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "diff" -d 'What changed between two snapshots: + added, - removed, M modified, U metadata only'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "find" -d 'Which snapshots hold entries matching a glob: `*.pdf` matches names, `/etc/**/x` whole paths'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "cat" -d 'Print one file (or S3 object) of a snapshot to stdout: ID:/path/to/file'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "dump" -d 'Write a directory of a snapshot to stdout as a tar or zip archive (a file: its content)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "info" -d 'Show the store, or one snapshot or entry'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "mount" -d 'Mount the store read-only with FUSE: ids/, snapshots/, hosts/, tags/ (restic\'s layout)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "ui" -d 'Browse the store in a web browser: a local read-only web UI behind a random token'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "check" -d 'Verify the store: every snapshot\'s trees and blobs are indexed and every pack exists'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete snapshots (their data stays until a prune)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "forget" -d 'Delete the snapshots a retention policy does not keep (restic\'s rules; local time)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "stats" -d 'How much space snapshots take: restore size, distinct file contents, or stored data'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "tag" -d 'Add, remove or set tags on snapshots already taken (each becomes a new snapshot)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "rewrite" -d 'Take paths out of snapshots already taken: new snapshots without them'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Reclaim space: delete packs no snapshot needs, repack partly used ones, compact the index. Safe beside running backups (two phases, see FORMAT.md)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Copy snapshots to or from another store (only the data it lacks; incremental)'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "key" -d 'Passphrases that open the store: list, add, rm, passwd'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "repair" -d 'Rebuild what is damaged: `repair index` indexes packs from their own headers'
complete -c kloset -n "__fish_kloset_using_subcommand at; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand create" -l kdf-memory-mib -d 'Argon2id memory cost in MiB' -r
complete -c kloset -n "__fish_kloset_using_subcommand create" -l kdf-iterations -d 'Argon2id iterations' -r
complete -c kloset -n "__fish_kloset_using_subcommand create" -l pack-size-mib -d 'Target pack size in MiB' -r
complete -c kloset -n "__fish_kloset_using_subcommand create" -l like -d 'Share another store\'s chunker parameters and blob ids (and so its master key), so `sync` between them moves data without re-chunking' -r
complete -c kloset -n "__fish_kloset_using_subcommand create" -l other-keyfile -d 'Read the other store\'s passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand create" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand create" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand create" -l no-dictionary -d 'Never train a zstd dictionary: one holds verbatim fragments of the first backup\'s small files (sealed, but kept for good); small files then take more space'
complete -c kloset -n "__fish_kloset_using_subcommand create" -l padding -d 'Pad every blob to a size class (at most ~11 % more, at least 512 bytes), so stored sizes no longer tell compressed sizes. Needs a kloset that reads padded blobs'
complete -c kloset -n "__fish_kloset_using_subcommand create" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand create" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand create" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l tag -d 'Tag the snapshot (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l host -d 'Record this host name instead of this machine\'s' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l exclude -d 'Leave out paths (or object keys) matching this gitignore-style pattern (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l iexclude -d 'Like --exclude, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l exclude-file -d 'Read exclude patterns from a file, one a line (repeatable)' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l exclude-if-present -d 'Leave out the contents of directories holding this file: NAME or NAME:HEADER (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l time -d 'Record this time instead of now: \'YYYY-MM-DD HH:MM:SS\' (local) or RFC 3339' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand backup" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l force -d 'Read every file, ignoring the parent snapshot'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l exclude-caches -d 'Leave out the contents of directories holding a valid CACHEDIR.TAG'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -s x -l one-file-system -d 'Stay on the filesystems of the paths given (mount points are kept, empty)'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -s n -l dry-run -d 'Read the source and report what would be stored; write nothing to the store'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand backup" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -l per-dir -r
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -l generation -r
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -l changed-permille -r
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand synthesize" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand ls" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand ls" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand ls" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand ls" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand ls" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand ls" -s l -l long -d 'Long listing: mode, owner, size, time, and S3 metadata'
complete -c kloset -n "__fish_kloset_using_subcommand ls" -s R -l recursive -d 'Everything below the path, with full paths'
complete -c kloset -n "__fish_kloset_using_subcommand ls" -l versions -d 'S3 keys backed up with versions=all: each version and delete marker, oldest first, and keys whose newest entry is a delete marker'
complete -c kloset -n "__fish_kloset_using_subcommand ls" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand ls" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand ls" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l to -d 'Where to restore: a directory, s3://host/bucket[/prefix] or @destination[:sub/path]. `-to` works too' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l include -d 'Restore only paths matching this gitignore-style pattern, with the directories on the way (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l iinclude -d 'Like --include, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l exclude -d 'Leave out paths matching this pattern; a directory takes its contents along (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l iexclude -d 'Like --exclude, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l as-of -d 'S3 keys as they stood at TIME (RFC 3339, or \'YYYY-MM-DD HH:MM:SS\' local time), from a snapshot taken with versions=all: per key the newest version not after TIME, nothing for a key deleted or not yet written then' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand restore" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l force -d 'Restore into a non-empty target, overwriting what is there'
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l thaw -d 'Packs in an archive storage class: ask S3 to restore them, wait, then restore'
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l no-special -d 'Skip device nodes and FIFOs, clear setuid/setgid bits and drop file capabilities: recommended when restoring a snapshot another host made'
complete -c kloset -n "__fish_kloset_using_subcommand restore" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand restore" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand restore" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand diff" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand diff" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand diff" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand diff" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand diff" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand diff" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand diff" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand diff" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand find" -l snapshot -d 'Only this snapshot' -r
complete -c kloset -n "__fish_kloset_using_subcommand find" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand find" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand find" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand find" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand find" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand find" -s i -l ignore-case -d 'Match regardless of case'
complete -c kloset -n "__fish_kloset_using_subcommand find" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand find" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand find" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand cat" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand cat" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand cat" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand cat" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand cat" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand cat" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand cat" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand cat" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand dump" -l format -r -f -a "tar\t''
zip\t''"
complete -c kloset -n "__fish_kloset_using_subcommand dump" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand dump" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand dump" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand dump" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand dump" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand dump" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand dump" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand dump" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand info" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand info" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand info" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand info" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand info" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l refresh -d 'Look at the store\'s snapshots again after this many seconds (on access; 1 at least)' -r
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l cache -d 'MiB of file content kept in memory for reads' -r
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand mount" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand mount" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand mount" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand mount" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l listen -d 'Where to listen: loopback unless an address is given' -r
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l refresh -d 'Look at the store\'s snapshots again after this many seconds (on access; 1 at least)' -r
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand ui" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l open -d 'Open the page in the default browser'
complete -c kloset -n "__fish_kloset_using_subcommand ui" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand ui" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand ui" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand check" -l read-data-subset -d 'Read only a slice of the packs: `1/10` (then 2/10 next time...) or `5%` at random' -r
complete -c kloset -n "__fish_kloset_using_subcommand check" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand check" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand check" -l read-data -d 'Also download every pack, re-hash it and decrypt every blob'
complete -c kloset -n "__fish_kloset_using_subcommand check" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand check" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand check" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand rm" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand rm" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand rm" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand rm" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand rm" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-last -d 'Keep the N newest snapshots' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-hourly -d 'Keep the newest snapshot of each of the N most recent hours that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-daily -d 'Keep the newest snapshot of each of the N most recent days that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-weekly -d 'Keep the newest snapshot of each of the N most recent ISO weeks that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-monthly -d 'Keep the newest snapshot of each of the N most recent months that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-yearly -d 'Keep the newest snapshot of each of the N most recent years that have one' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-within -d 'Keep snapshots younger than this, counted from the group\'s newest (e.g. 2d, 1y6m, 12h)' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keep-tag -d 'Keep snapshots carrying all these tags (comma-separated; repeatable, any list)' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l group-by -d 'Apply the policy to each group of snapshots: host, source, tags, or a comma list' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand forget" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l dry-run -d 'Show what would be removed, remove nothing'
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l prune -d 'Prune afterwards (with prune\'s defaults)'
complete -c kloset -n "__fish_kloset_using_subcommand forget" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand forget" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand forget" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l mode -d 'What to count (restic\'s modes)' -r -f -a "restore-size\t'What a restore of the snapshots would write: every file of each, counted in each'
files-by-contents\t'Each distinct file content once: what the files take before chunking'
raw-data\t'The blobs the snapshots need, each once: what they take in the store'"
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l by -d 'One line per host, source or tag, beside the total' -r -f -a "host\t''
source\t''
tag\t''"
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand stats" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand stats" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand stats" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l add -d 'Add this tag (repeatable; comma lists too)' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l remove -d 'Remove this tag (repeatable; comma lists too)' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l set -d 'Replace all tags with these (repeatable; comma lists too; `--set \'\'` clears them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand tag" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand tag" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand tag" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand tag" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l exclude -d 'Take out paths (or S3 keys) matching this gitignore-style pattern (repeatable)' -r
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l iexclude -d 'Like --exclude, ignoring case' -r
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l exclude-file -d 'Read exclude patterns from a file, one a line (repeatable)' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l forget -d 'Remove each original once its rewritten snapshot is saved (a prune then reclaims what only the originals held)'
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l dry-run -d 'Show what would be taken out, write nothing'
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand rewrite" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand prune" -l max-unused -d 'Unused space left in partly used packs, as a share of the store (e.g. 5%, 0%)' -r
complete -c kloset -n "__fish_kloset_using_subcommand prune" -l max-repack -d 'Repack at most this much in one run (e.g. 2GiB, 500MiB)' -r
complete -c kloset -n "__fish_kloset_using_subcommand prune" -l delete-delay -d 'Marked packs are deleted only this much later (by the server\'s clock). Running backups and syncs announce themselves with leases and are safe without it; set it longer than any backup when older kloset builds, which take no lease, write here' -r
complete -c kloset -n "__fish_kloset_using_subcommand prune" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand prune" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand prune" -l dry-run -d 'Show what would be done, change nothing'
complete -c kloset -n "__fish_kloset_using_subcommand prune" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand prune" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand prune" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand sync" -l host -d 'Only snapshots from this host' -r
complete -c kloset -n "__fish_kloset_using_subcommand sync" -l tag -d 'Only snapshots with this tag (repeatable: all of them)' -r
complete -c kloset -n "__fish_kloset_using_subcommand sync" -l source -d 'Only snapshots of this source (as given to backup, or its key)' -r
complete -c kloset -n "__fish_kloset_using_subcommand sync" -l other-keyfile -d 'Read the other store\'s passphrase from the first line of FILE (else its passphrase option, KLOSET_OTHER_PASSPHRASE, or a prompt)' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand sync" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand sync" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand sync" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand sync" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -f -a "list" -d 'The keys, the one in use marked with *'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -f -a "add" -d 'Add a passphrase (from --new-keyfile, KLOSET_NEW_PASSPHRASE, or asked twice)'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -f -a "rm" -d 'Remove a key by name or prefix (never the last; the one in use only with --force)'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -f -a "passwd" -d 'Change the passphrase in use: add the new one, then remove the one in use'
complete -c kloset -n "__fish_kloset_using_subcommand key; and not __fish_seen_subcommand_from list add rm passwd help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from list" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from list" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from add" -l new-keyfile -d 'Read the new passphrase from this file\'s first line' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from add" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from add" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from add" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from rm" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from rm" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from rm" -l force
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from rm" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from passwd" -l new-keyfile -d 'Read the new passphrase from this file\'s first line' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from passwd" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from passwd" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from passwd" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from passwd" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from passwd" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'The keys, the one in use marked with *'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a passphrase (from --new-keyfile, KLOSET_NEW_PASSPHRASE, or asked twice)'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a key by name or prefix (never the last; the one in use only with --force)'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "passwd" -d 'Change the passphrase in use: add the new one, then remove the one in use'
complete -c kloset -n "__fish_kloset_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -f -a "index" -d 'Index every pack no readable index file names, from its header; remove damaged index files'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and not __fish_seen_subcommand_from index help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from index" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from index" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from index" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from index" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from index" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "index" -d 'Index every pack no readable index file names, from its header; remove damaged index files'
complete -c kloset -n "__fish_kloset_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand source; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from add" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from add" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from add" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -l secrets
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -l yaml -d 'YAML output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from ls" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from ls" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from ls" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from set" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from set" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from set" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from set" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from unset" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from unset" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from unset" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from rm" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from rm" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from rm" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from default" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from default" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from default" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from default" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from default" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -l force -d 'Replace entries that already exist'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -l allow-commands -d 'Import entries that run commands (passphrase_cmd, or a secret given as !COMMAND) without asking; they are listed either way'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand source; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand store; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from add" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from add" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from add" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -l secrets
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -l yaml -d 'YAML output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from ls" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from ls" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from ls" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from set" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from set" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from set" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from set" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from unset" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from unset" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from unset" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from rm" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from rm" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from rm" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from default" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from default" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from default" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from default" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from default" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -l force -d 'Replace entries that already exist'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -l allow-commands -d 'Import entries that run commands (passphrase_cmd, or a secret given as !COMMAND) without asking; they are listed either way'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and not __fish_seen_subcommand_from add show ls set unset rm default import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from add" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from add" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from add" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -l secrets
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -l yaml -d 'YAML output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from ls" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from ls" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from ls" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from set" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from set" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from set" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from set" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from unset" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from unset" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from unset" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from rm" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from rm" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from rm" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from default" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from default" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from default" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from default" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from default" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -l force -d 'Replace entries that already exist'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -l allow-commands -d 'Import entries that run commands (passphrase_cmd, or a secret given as !COMMAND) without asking; they are listed either way'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand destination; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand completion" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand completion" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand completion" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand completion" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand manpages" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand manpages" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand manpages" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand manpages" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand manpages" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand limits" -l keyfile -d 'Read the store passphrase from the first line of FILE' -r -F
complete -c kloset -n "__fish_kloset_using_subcommand limits" -s o -l option -d 'A connector option for every location given directly (not as @name), e.g. `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`' -r
complete -c kloset -n "__fish_kloset_using_subcommand limits" -s q -l quiet -d 'No progress output'
complete -c kloset -n "__fish_kloset_using_subcommand limits" -l json -d 'Machine-readable output where a command has it'
complete -c kloset -n "__fish_kloset_using_subcommand limits" -s h -l help -d 'Print help'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "at" -d 'Run a store command against LOCATION: a path, fs:///path, s3://host/bucket[/prefix] or @name'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "create" -d 'Initialise a new store (asks for a passphrase twice, or reads KLOSET_PASSPHRASE)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "backup" -d 'Back up a directory, file, s3:// location or @source into the store'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "synthesize" -d 'Back up a generated tree of FILES tiny files (for scripts/bench\'s scale step): each generation changes CHANGED per mille of them'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "ls" -d 'List snapshots, or the entries at ID[:/path] inside one'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "restore" -d 'Restore a snapshot (or ID:/sub/path) to a directory, s3:// location or @destination'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "diff" -d 'What changed between two snapshots: + added, - removed, M modified, U metadata only'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "find" -d 'Which snapshots hold entries matching a glob: `*.pdf` matches names, `/etc/**/x` whole paths'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "cat" -d 'Print one file (or S3 object) of a snapshot to stdout: ID:/path/to/file'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "dump" -d 'Write a directory of a snapshot to stdout as a tar or zip archive (a file: its content)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "info" -d 'Show the store, or one snapshot or entry'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "mount" -d 'Mount the store read-only with FUSE: ids/, snapshots/, hosts/, tags/ (restic\'s layout)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "ui" -d 'Browse the store in a web browser: a local read-only web UI behind a random token'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "check" -d 'Verify the store: every snapshot\'s trees and blobs are indexed and every pack exists'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "rm" -d 'Delete snapshots (their data stays until a prune)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "forget" -d 'Delete the snapshots a retention policy does not keep (restic\'s rules; local time)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "stats" -d 'How much space snapshots take: restore size, distinct file contents, or stored data'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "tag" -d 'Add, remove or set tags on snapshots already taken (each becomes a new snapshot)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "rewrite" -d 'Take paths out of snapshots already taken: new snapshots without them'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "prune" -d 'Reclaim space: delete packs no snapshot needs, repack partly used ones, compact the index. Safe beside running backups (two phases, see FORMAT.md)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "sync" -d 'Copy snapshots to or from another store (only the data it lacks; incremental)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "key" -d 'Passphrases that open the store: list, add, rm, passwd'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "repair" -d 'Rebuild what is damaged: `repair index` indexes packs from their own headers'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "source" -d 'Manage named sources (what to back up)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "store" -d 'Manage named stores (where backups live)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "destination" -d 'Manage named destinations (where to restore)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "completion" -d 'Print a shell completion script'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "manpages" -d 'Write man pages into DIR (one per subcommand)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "limits" -d 'Time each stage of a backup and a restore of TREE on one core (for scripts/bench)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and not __fish_seen_subcommand_from at create backup synthesize ls restore diff find cat dump info mount ui check rm forget stats tag rewrite prune sync key repair source store destination completion manpages limits help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "create" -d 'Initialise a new store (asks for a passphrase twice, or reads KLOSET_PASSPHRASE)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "backup" -d 'Back up a directory, file, s3:// location or @source into the store'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "synthesize" -d 'Back up a generated tree of FILES tiny files (for scripts/bench\'s scale step): each generation changes CHANGED per mille of them'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "ls" -d 'List snapshots, or the entries at ID[:/path] inside one'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "restore" -d 'Restore a snapshot (or ID:/sub/path) to a directory, s3:// location or @destination'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "diff" -d 'What changed between two snapshots: + added, - removed, M modified, U metadata only'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "find" -d 'Which snapshots hold entries matching a glob: `*.pdf` matches names, `/etc/**/x` whole paths'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "cat" -d 'Print one file (or S3 object) of a snapshot to stdout: ID:/path/to/file'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "dump" -d 'Write a directory of a snapshot to stdout as a tar or zip archive (a file: its content)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "info" -d 'Show the store, or one snapshot or entry'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "mount" -d 'Mount the store read-only with FUSE: ids/, snapshots/, hosts/, tags/ (restic\'s layout)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "ui" -d 'Browse the store in a web browser: a local read-only web UI behind a random token'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "check" -d 'Verify the store: every snapshot\'s trees and blobs are indexed and every pack exists'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "rm" -d 'Delete snapshots (their data stays until a prune)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "forget" -d 'Delete the snapshots a retention policy does not keep (restic\'s rules; local time)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "stats" -d 'How much space snapshots take: restore size, distinct file contents, or stored data'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "tag" -d 'Add, remove or set tags on snapshots already taken (each becomes a new snapshot)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "rewrite" -d 'Take paths out of snapshots already taken: new snapshots without them'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "prune" -d 'Reclaim space: delete packs no snapshot needs, repack partly used ones, compact the index. Safe beside running backups (two phases, see FORMAT.md)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "sync" -d 'Copy snapshots to or from another store (only the data it lacks; incremental)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "key" -d 'Passphrases that open the store: list, add, rm, passwd'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from at" -f -a "repair" -d 'Rebuild what is damaged: `repair index` indexes packs from their own headers'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'The keys, the one in use marked with *'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "add" -d 'Add a passphrase (from --new-keyfile, KLOSET_NEW_PASSPHRASE, or asked twice)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "rm" -d 'Remove a key by name or prefix (never the last; the one in use only with --force)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "passwd" -d 'Change the passphrase in use: add the new one, then remove the one in use'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from repair" -f -a "index" -d 'Index every pack no readable index file names, from its header; remove damaged index files'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from source" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "add" -d 'Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`. A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key) may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "show" -d 'Show entries (secrets masked unless --secrets)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "ls" -d 'List the names'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "set" -d 'Change options of NAME'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "unset" -d 'Remove options of NAME (\'location\' cannot be removed)'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "rm" -d 'Remove NAME'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "default" -d '(stores only) Use NAME when `at` is omitted'
complete -c kloset -n "__fish_kloset_using_subcommand help; and __fish_seen_subcommand_from destination" -f -a "import" -d 'Add every entry of a YAML file laid out like config.example.yaml'
