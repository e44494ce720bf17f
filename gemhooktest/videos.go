package gemhooktest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// maxSamples is Veo's largest sampleCount.
const maxSamples = 4

// videoCreate is the body of models/{m}:predictLongRunning.
type videoCreate struct {
	Instances  []map[string]json.RawMessage `json:"instances"`
	Parameters *struct {
		SampleCount *int `json:"sampleCount"`
	} `json:"parameters"`
	Webhook      *webhookConfig `json:"webhookConfig"`
	WebhookSnake *webhookConfig `json:"webhook_config"`
}

func (s *Server) createVideo(r *http.Request, model string) (any, error) {
	var in videoCreate
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if len(in.Instances) == 0 {
		return nil, invalidArgument("instances is required")
	}
	for i, inst := range in.Instances {
		if len(inst) == 0 {
			return nil, invalidArgument("instances[%d] needs a prompt, image or video", i)
		}
	}
	samples := 1
	if in.Parameters != nil && in.Parameters.SampleCount != nil {
		samples = *in.Parameters.SampleCount
		if samples < 1 || samples > maxSamples {
			return nil, invalidArgument("parameters.sampleCount must be between 1 and %d", maxSamples)
		}
	}
	hook := in.Webhook
	if hook == nil {
		hook = in.WebhookSnake
	}
	if err := hook.check("webhookConfig"); err != nil {
		return nil, err
	}
	j := &job{
		kind: kindVideo, name: "models/" + model + "/operations/" + randomID(16),
		model: "models/" + model, samples: samples, outputFile: "files/" + randomID(16),
		uris: hook.uris(), metadata: hook.metadata(),
	}
	return s.startJob(r, j, func() any { return s.videoOperation(j) })
}

// videoOperation is a video job as Gemini reports it. The first sample's
// file is the job's output file; further samples get their own.
func (s *Server) videoOperation(j *job) map[string]any {
	op := map[string]any{"name": j.name}
	if !j.settled() {
		return op
	}
	op["done"] = true
	if j.outcome != Succeeded {
		op["error"] = map[string]any{"code": rpcCode(j.outcome), "message": j.reason}
		return op
	}
	samples := make([]any, j.samples)
	for i := range samples {
		samples[i] = map[string]any{"video": map[string]any{"uri": s.downloadURI(sampleFile(j, i))}}
	}
	op["response"] = map[string]any{
		"@type":                 "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
		"generateVideoResponse": map[string]any{"generatedSamples": samples},
	}
	return op
}

// sampleFile names the file of sample i: the job's output file, with a
// digit added after the first. Ids stay lower-case alphanumeric, which
// genai's download helper requires.
func sampleFile(j *job, i int) string {
	if i == 0 {
		return j.outputFile
	}
	return j.outputFile + string(rune('0'+i))
}

func (s *Server) getOperation(_ *http.Request, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[name]
	if j == nil || j.kind != kindVideo {
		return nil, notFound("Requested entity was not found. (operation %s)", name)
	}
	return s.videoOperation(j), nil
}

// GoogleFilesURL is the prefix of generated files' URIs under
// Options.GoogleFileURIs, as the real API writes them.
const GoogleFilesURL = "https://generativelanguage.googleapis.com/v1beta/"

// downloadURI is where a generated file can be fetched.
func (s *Server) downloadURI(file string) string {
	base := s.URL + "/v1beta/"
	if s.opts.GoogleFileURIs {
		base = GoogleFilesURL
	}
	return base + file + ":download?alt=media"
}

// downloadFile serves the outputs of finished jobs: a few placeholder bytes
// for a video, JSON lines of responses for a batch with a file source.
func (s *Server) downloadFile(_ *http.Request, id string) (any, error) {
	file := "files/" + id
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.outputFile == "" || j.outcome != Succeeded || !strings.HasPrefix(file, j.outputFile) {
			continue
		}
		switch j.kind {
		case kindVideo:
			for i := range j.samples {
				if sampleFile(j, i) == file {
					return rawBody{"video/mp4", []byte("gemhooktest video " + file + " of " + j.name)}, nil
				}
			}
		case kindBatch:
			if file == j.outputFile {
				line, _ := json.Marshal(map[string]any{"response": fakeResponse(j.model, 0), "key": "1"})
				return rawBody{"application/jsonl", append(line, '\n')}, nil
			}
		}
	}
	return nil, notFound("File %s not found.", file)
}
