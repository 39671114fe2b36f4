// tekton-validate runs Tekton's own admission checks offline: every tekton.dev/v1
// Pipeline, Task, PipelineRun and TaskRun in the given YAML files is decoded
// as the API server does with strict field validation (an unknown or misspelled
// key, case included, or a duplicate key is an error),
// defaulted with SetDefaults and validated with Validate(apis.WithinCreate(ctx)),
// the same calls the Tekton webhook makes. Each finding is one JSON line on stdout:
// {"file", "line", "severity", "message"}. Exit 0 with no error, 1 with errors, 2 on
// unreadable input.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
	yamlv3 "sigs.k8s.io/yaml/goyaml.v3"
)

type finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// validatable is what the webhook calls on each resource.
type validatable interface {
	apis.Defaultable
	apis.Validatable
}

func newResource(kind string) validatable {
	switch kind {
	case "Pipeline":
		return &v1.Pipeline{}
	case "Task":
		return &v1.Task{}
	case "PipelineRun":
		return &v1.PipelineRun{}
	case "TaskRun":
		return &v1.TaskRun{}
	}
	return nil
}

// document is one YAML document of a file and the line it starts on.
type document struct {
	text  []byte
	start int
}

func splitDocuments(data []byte) []document {
	var docs []document
	var current bytes.Buffer
	start := 1
	for i, line := range strings.SplitAfter(string(data), "\n") {
		trimmed := strings.TrimRight(line, " \t\r\n")
		if trimmed == "---" || strings.HasPrefix(trimmed, "--- ") {
			docs = append(docs, document{append([]byte(nil), current.Bytes()...), start})
			current.Reset()
			start = i + 2
			continue
		}
		current.WriteString(line)
	}
	return append(docs, document{current.Bytes(), start})
}

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

func checkFile(path string) ([]finding, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []finding
	for _, doc := range splitDocuments(data) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc.text, &meta); err != nil {
			out = append(out, finding{path, doc.start, "error", "not YAML: " + err.Error()})
			continue
		}
		resource := newResource(meta.Kind)
		if resource == nil || !strings.HasPrefix(meta.APIVersion, "tekton.dev/") {
			continue
		}
		if meta.APIVersion != "tekton.dev/v1" {
			// not checked here: say so rather than pass it silently
			out = append(out, finding{path, doc.start, "warning", fmt.Sprintf(
				"%s %s: not validated; only tekton.dev/v1 is (migrate it to v1)", meta.APIVersion, meta.Kind)})
			continue
		}
		var tree yamlv3.Node
		_ = yamlv3.Unmarshal(doc.text, &tree)
		// as the API server decodes with fieldValidation=Strict: case-sensitive,
		// unknown and duplicate fields refused
		data, err := yaml.YAMLToJSONStrict(doc.text)
		if err != nil {
			out = append(out, finding{path, doc.start, "error", meta.Kind + ": " + err.Error()})
			continue
		}
		strict, err := kjson.UnmarshalStrict(data, resource)
		if err != nil {
			out = append(out, finding{path, doc.start, "error", meta.Kind + ": " + err.Error()})
			continue
		}
		if len(strict) > 0 {
			for _, e := range strict {
				line := doc.start
				if fe, ok := e.(kjson.FieldError); ok {
					line = doc.start - 1 + lineOfPath(&tree, fe.FieldPath())
				} else if m := unknownField.FindStringSubmatch(e.Error()); m != nil {
					line = doc.start - 1 + lineOfKey(&tree, m[1])
				}
				out = append(out, finding{path, line, "error", meta.Kind + ": " + e.Error()})
			}
			continue
		}
		// the API server names a resource that asks for a generated name before
		// the webhook sees it
		if named, ok := resource.(metav1.Object); ok && named.GetName() == "" && named.GetGenerateName() != "" {
			named.SetName(named.GetGenerateName() + "x")
		}
		ctx := context.Background()
		resource.SetDefaults(ctx)
		if errs := resource.Validate(apis.WithinCreate(ctx)); errs != nil {
			for _, fe := range errs.WrappedErrors() {
				severity := "error"
				if fe.Level == apis.WarningLevel {
					severity = "warning"
				}
				for _, p := range pathsOrRoot(fe.Paths) {
					line := doc.start - 1 + lineOfPath(&tree, p)
					message := fmt.Sprintf("%s: %s", meta.Kind, fe.Message)
					if p != "" {
						message += ": " + p
					}
					if fe.Details != "" {
						message += " (" + fe.Details + ")"
					}
					out = append(out, finding{path, line, severity, message})
				}
			}
		}
	}
	return out, nil
}

func pathsOrRoot(paths []string) []string {
	if len(paths) == 0 {
		return []string{""}
	}
	return paths
}

// lineOfKey is the line of the first mapping key named key (1 when absent).
func lineOfKey(node *yamlv3.Node, key string) int {
	var found int
	var walk func(n *yamlv3.Node)
	walk = func(n *yamlv3.Node) {
		if found != 0 || n == nil {
			return
		}
		if n.Kind == yamlv3.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					found = n.Content[i].Line
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(node)
	if found == 0 {
		return 1
	}
	return found
}

var segment = regexp.MustCompile(`([^.\[\]]+)|\[([^\]]*)\]`)

// lineOfPath follows a knative field path (spec.tasks[1].runAfter, or
// spec.tasks[build].params) as far as the document has it, and gives that line.
func lineOfPath(root *yamlv3.Node, path string) int {
	n := root
	if n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	if line == 0 {
		line = 1
	}
	for _, m := range segment.FindAllStringSubmatch(path, -1) {
		var next *yamlv3.Node
		if m[1] != "" && n.Kind == yamlv3.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == m[1] {
					line = n.Content[i].Line
					next = n.Content[i+1]
				}
			}
		} else if m[1] == "" && n.Kind == yamlv3.SequenceNode {
			if i, err := strconv.Atoi(m[2]); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			} else {
				next = itemNamed(n, m[2])
			}
			if next != nil {
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

func itemNamed(seq *yamlv3.Node, name string) *yamlv3.Node {
	for _, item := range seq.Content {
		if item.Kind != yamlv3.MappingNode {
			continue
		}
		for i := 0; i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value == "name" && item.Content[i+1].Value == name {
				return item
			}
		}
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tekton-validate FILE.yaml...")
		os.Exit(2)
	}
	encoder := json.NewEncoder(os.Stdout)
	errors, broken := 0, false
	for _, path := range os.Args[1:] {
		found, err := checkFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "tekton-validate: %v\n", err)
			broken = true
			continue
		}
		for _, f := range found {
			if f.Severity == "error" {
				errors++
			}
			_ = encoder.Encode(f)
		}
	}
	switch {
	case broken:
		os.Exit(2)
	case errors > 0:
		os.Exit(1)
	}
}
