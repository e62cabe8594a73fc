package weights

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DefaultName is the file name of the official MatConvNet network, the
// reference's default --network.
const DefaultName = "imagenet-vgg-verydeep-19.mat"

// EnvNetwork names the environment variable that may give the network's
// path.
const EnvNetwork = "NEURALSTYLE_NETWORK"

// DownloadCommand is the command that fetches the network.
const DownloadCommand = "neuralstyle weights download"

// env is the environment lookup, replaced by tests.
var env = os.Getenv

// DataDir is the user data folder where downloads go and where the network
// is looked for: $XDG_DATA_HOME/neuralstyle or ~/.local/share/neuralstyle
// on Linux and other Unix systems, ~/Library/Application
// Support/neuralstyle on macOS, %AppData%\neuralstyle on Windows.
func DataDir() (string, error) {
	return dataDir(runtime.GOOS)
}

func dataDir(goos string) (string, error) {
	switch goos {
	case "windows":
		if d := env("AppData"); d != "" {
			return filepath.Join(d, "neuralstyle"), nil
		}
		return "", errors.New("%AppData% is not set")
	case "darwin", "ios":
		home, err := homeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "neuralstyle"), nil
	case "plan9":
		home, err := homeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "lib", "neuralstyle"), nil
	}
	// The XDG base directory specification ignores relative paths.
	if d := env("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "neuralstyle"), nil
	}
	home, err := homeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "neuralstyle"), nil
}

func homeDir() (string, error) {
	for _, v := range []string{"HOME", "USERPROFILE", "home"} {
		if h := env(v); h != "" {
			return h, nil
		}
	}
	return "", errors.New("no home folder: $HOME is not set")
}

// NotFoundError is Find's error: no network file in any of the places
// searched.
type NotFoundError struct {
	// Searched are the paths looked at, in order.
	Searched []string
	// Explicit is set when the path was given (--network), not searched.
	Explicit bool
}

func (e *NotFoundError) Error() string {
	// The reference's words first, for scripts that look for them.
	msg := "Network " + e.Searched[0] + " does not exist. (Did you forget to download it?)"
	if e.Explicit || len(e.Searched) == 1 {
		return msg + " Run '" + DownloadCommand + "' to fetch the official one."
	}
	return msg + " Looked for " + strings.Join(e.Searched, ", ") +
		"; run '" + DownloadCommand + "' to fetch it, or give --network FILE."
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) hold.
func (e *NotFoundError) Unwrap() error { return fs.ErrNotExist }

// SearchPath lists where Find looks when --network is not given, in order:
// network (the default ./imagenet-vgg-verydeep-19.mat), the file named by
// $NEURALSTYLE_NETWORK, then DefaultName in the data folder.
func SearchPath(network string) []string {
	if network == "" {
		network = DefaultName
	}
	paths := []string{network}
	if p := env(EnvNetwork); p != "" {
		paths = append(paths, p)
	}
	if d, err := DataDir(); err == nil {
		paths = append(paths, filepath.Join(d, DefaultName))
	}
	return paths
}

// Find returns the network file to load. With explicit set (the user gave
// --network), network is the only candidate; otherwise the places of
// SearchPath are tried in order. searched lists the paths looked at. The
// error, when none exists, is a *NotFoundError that lists them and says how
// to download the network.
func Find(network string, explicit bool) (path string, searched []string, err error) {
	candidates := []string{network}
	if !explicit {
		candidates = SearchPath(network)
	}
	for _, p := range candidates {
		searched = append(searched, p)
		st, err := os.Stat(p)
		if err == nil && !st.IsDir() {
			return p, searched, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Unreadable (permissions, a file where a folder should be):
			// say so rather than look further and load another file.
			return "", searched, err
		}
	}
	return "", searched, &NotFoundError{Searched: searched, Explicit: explicit}
}
