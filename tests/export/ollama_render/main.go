// Renders an ollama Modelfile TEMPLATE the way ollama feeds it: system messages joined into
// .System, consecutive same-role messages merged (tool messages kept apart), .Messages with
// .ToolCalls whose arguments print as JSON, .Tools that print as JSON through the `json` func.
// It also reports the tool-call tag: the first non-blank text inside the first
// {{ if ... .ToolCalls }} block, cut before "{" — what ollama's parser looks for in the output.
// Reads {"template", "messages", "tools"} on stdin, writes {"text", "tag", "mentions_tools"}.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"text/template"
	"text/template/parse"
)

type args map[string]any

func (a args) String() string { b, _ := json.Marshal(map[string]any(a)); return string(b) }

type callFn struct {
	Index     int
	Name      string
	Arguments args
}
type call struct {
	ID       string
	Function callFn
}
type message struct {
	Role       string
	Content    string
	Thinking   string
	ToolCalls  []call
	ToolName   string
	ToolCallID string
}
type params struct {
	Type       string         `json:"type"`
	Required   []string       `json:"required,omitempty"`
	Properties map[string]any `json:"properties"`
}
type toolFn struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parameters  params `json:"parameters"`
}
type tool struct {
	Type     string `json:"type"`
	Function toolFn `json:"function"`
}

type input struct {
	Template string `json:"template"`
	Messages []struct {
		Role      string `json:"role"`
		Content   string `json:"content"`
		Thinking  string `json:"thinking"`
		ToolCalls []struct {
			Function struct {
				Name      string         `json:"name"`
				Arguments map[string]any `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []tool `json:"tools"`
}

func firstText(nodes []parse.Node) string {
	for _, n := range nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if len(bytes.TrimSpace(n.Text)) > 0 {
				return string(n.Text)
			}
		case *parse.ActionNode:
			return ""
		case *parse.IfNode:
			return firstText(n.List.Nodes)
		case *parse.RangeNode:
			return firstText(n.List.Nodes)
		case *parse.WithNode:
			return firstText(n.List.Nodes)
		}
	}
	return ""
}

func mentionsToolCalls(p *parse.PipeNode) bool {
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			if f, ok := a.(*parse.FieldNode); ok {
				for _, id := range f.Ident {
					if id == "ToolCalls" {
						return true
					}
				}
			}
		}
	}
	return false
}

func toolCallsIf(nodes []parse.Node) *parse.IfNode {
	for _, n := range nodes {
		var lists []*parse.ListNode
		switch n := n.(type) {
		case *parse.IfNode:
			if mentionsToolCalls(n.Pipe) {
				return n
			}
			lists = []*parse.ListNode{n.List, n.ElseList}
		case *parse.RangeNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		case *parse.WithNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		}
		for _, l := range lists {
			if l != nil {
				if found := toolCallsIf(l.Nodes); found != nil {
					return found
				}
			}
		}
	}
	return nil
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	funcs := template.FuncMap{"json": func(v any) string { b, _ := json.Marshal(v); return string(b) }}
	tmpl := template.Must(template.New("").Option("missingkey=zero").Funcs(funcs).Parse(in.Template))

	var system []string
	var msgs []*message
	for _, m := range in.Messages {
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if len(msgs) > 0 && msgs[len(msgs)-1].Role == m.Role && m.Role != "tool" {
			msgs[len(msgs)-1].Content += "\n\n" + m.Content
			continue
		}
		msg := &message{Role: m.Role, Content: m.Content, Thinking: m.Thinking}
		for i, c := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, call{Function: callFn{Index: i, Name: c.Function.Name, Arguments: c.Function.Arguments}})
		}
		msgs = append(msgs, msg)
	}
	var out bytes.Buffer
	data := map[string]any{"System": strings.Join(system, "\n\n"), "Messages": msgs, "Tools": in.Tools, "Response": ""}
	if err := tmpl.Execute(&out, data); err != nil {
		panic(err)
	}
	tag := "{"
	if n := toolCallsIf(tmpl.Tree.Root.Nodes); n != nil {
		if t, _, _ := strings.Cut(firstText(n.List.Nodes), "{"); strings.TrimSpace(t) != "" {
			tag = strings.TrimSpace(t)
		}
	}
	result, _ := json.Marshal(map[string]any{"text": out.String(), "tag": tag, "mentions_tools": strings.Contains(in.Template, ".Tools")})
	os.Stdout.Write(result)
}
