package ignition

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// marshalButane writes a Butane config as YAML with only the fields that are
// set. Butane's structs have no omitempty tags, so yaml.Marshal would write
// every unused field as null; this walks them instead and keeps the file as
// short as one written by hand. File modes are written in octal, as people
// read them.
func marshalButane(cfg any, comment string) ([]byte, error) {
	node, err := yamlNode(reflect.ValueOf(cfg), "")
	if err != nil {
		return nil, err
	}
	if node == nil {
		node = &yaml.Node{Kind: yaml.MappingNode}
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{node}, HeadComment: comment}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// yamlNode returns nil for a value that is unset (nil pointer, empty slice,
// struct with nothing set), so that it is left out.
func yamlNode(v reflect.Value, field string) (*yaml.Node, error) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return yamlNode(v.Elem(), field)
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		if err := appendFields(m, v); err != nil {
			return nil, err
		}
		if len(m.Content) == 0 {
			return nil, nil
		}
		return m, nil
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, nil
		}
		s := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			n, err := yamlNode(v.Index(i), field)
			if err != nil {
				return nil, err
			}
			if n == nil {
				n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			}
			s.Content = append(s.Content, n)
		}
		return s, nil
	case reflect.String:
		if v.String() == "" && field != "inline" {
			return nil, nil
		}
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.String()}
		if strings.Contains(v.String(), "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n, nil
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		if field == "mode" {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprintf("0%o", v.Int())}, nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}, nil
	}
	return nil, fmt.Errorf("butane yaml: unexpected %s in field %q", v.Kind(), field)
}

func appendFields(m *yaml.Node, v reflect.Value) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			if err := appendFields(m, v.Field(i)); err != nil {
				return err
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		n, err := yamlNode(v.Field(i), name)
		if err != nil {
			return err
		}
		if n == nil {
			continue
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, n)
	}
	return nil
}
